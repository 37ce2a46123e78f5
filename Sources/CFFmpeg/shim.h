// The only C header the video module sees. FFmpeg macros that do not import
// into Swift, fixed-size array fields (AVFrame.data/linesize import as 8-tuples)
// and small version-dependent calls are wrapped here as static inline functions.
#ifndef NORMBENCH_CFFMPEG_SHIM_H
#define NORMBENCH_CFFMPEG_SHIM_H

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libavutil/avutil.h>
#include <libavutil/display.h>
#include <libavutil/error.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

static inline int nb_averror_eagain(void) { return AVERROR(EAGAIN); }
static inline int nb_averror_eof(void) { return AVERROR_EOF; }
static inline int nb_averror_invaliddata(void) { return AVERROR_INVALIDDATA; }
static inline int nb_averror_enomem(void) { return AVERROR(ENOMEM); }
static inline int64_t nb_av_nopts_value(void) { return AV_NOPTS_VALUE; }
static inline int nb_av_time_base(void) { return AV_TIME_BASE; }
static inline int nb_codec_flag_global_header(void) { return AV_CODEC_FLAG_GLOBAL_HEADER; }
static inline int nb_fmt_globalheader(void) { return AVFMT_GLOBALHEADER; }
static inline int nb_fmt_nofile(void) { return AVFMT_NOFILE; }
static inline int nb_pkt_flag_key(void) { return AV_PKT_FLAG_KEY; }
static inline int nb_frame_flag_corrupt(void) { return AV_FRAME_FLAG_CORRUPT; }

/// Captures demuxer warnings/errors (e.g. "moov atom not found", "partial file")
/// so error messages can carry FFmpeg's own words. A line logged by an
/// AVFormatContext whose `opaque` points at a buffer of `NB_LOG_LINE` bytes is
/// copied there; nothing is printed. (No C globals: Swift does not emit them.)
enum { NB_LOG_LINE = 512 };

static inline void nb_log_capture(void *avcl, int level, const char *fmt, va_list vl) {
    if (level > AV_LOG_WARNING || !avcl) return;
    if (*(const AVClass **)avcl != avformat_get_class()) return;
    char *buf = ((AVFormatContext *)avcl)->opaque;
    if (!buf) return;
    char line[NB_LOG_LINE];
    int print_prefix = 0;
    av_log_format_line(avcl, level, fmt, vl, line, sizeof line, &print_prefix);
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ')) line[--n] = 0;
    if (n > 0) memcpy(buf, line, n + 1);
}

/// Routes FFmpeg's log into per-file buffers (nothing is printed).
static inline void nb_install_log_capture(void) { av_log_set_callback(nb_log_capture); }

/// FFmpeg's message for an error code, into `buf` (at least 128 bytes).
static inline const char *nb_err2str(int err, char *buf, size_t size) {
    av_strerror(err, buf, size);
    return buf;
}

static inline uint8_t *nb_frame_data(const AVFrame *f, int plane) { return f->data[plane]; }
static inline int nb_frame_linesize(const AVFrame *f, int plane) { return f->linesize[plane]; }

/// Clockwise rotation in degrees (0, 90, 180, 270) that the stream's display
/// matrix asks for, computed the way the ffmpeg CLI's autorotate does.
static inline int nb_stream_rotation(const AVStream *st) {
    const int32_t *m = (const int32_t *)av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, NULL);
    if (!m) return 0;
    double theta = -round(av_display_rotation_get(m));
    theta -= 360 * floor(theta / 360 + 0.9 / 360);
    int r = (int)theta;
    if (r < 45 || r >= 315) return 0;
    if (r < 135) return 90;
    if (r < 225) return 180;
    return 270;
}

/// Scales one decoded frame into a packed RGB24 buffer (`dst`, `dstStride` bytes a row).
static inline int nb_sws_scale_to_packed(struct SwsContext *c, const AVFrame *src, uint8_t *dst, int dstStride) {
    uint8_t *planes[4] = { dst, NULL, NULL, NULL };
    int strides[4] = { dstStride, 0, 0, 0 };
    return sws_scale(c, (const uint8_t *const *)src->data, src->linesize, 0, src->height, planes, strides);
}

/// Converts a packed RGB24 buffer into a frame that owns its planes (encoder input).
static inline int nb_sws_scale_from_packed(struct SwsContext *c, const uint8_t *src, int srcStride, int srcHeight, AVFrame *dst) {
    const uint8_t *planes[4] = { src, NULL, NULL, NULL };
    int strides[4] = { srcStride, 0, 0, 0 };
    return sws_scale(c, planes, strides, 0, srcHeight, dst->data, dst->linesize);
}

#endif
