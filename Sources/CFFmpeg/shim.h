// The only C header the video module sees. FFmpeg macros that do not import
// into Swift are re-exported here as static inline functions.
#ifndef NORMBENCH_CFFMPEG_SHIM_H
#define NORMBENCH_CFFMPEG_SHIM_H

#include <errno.h>
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
static inline int64_t nb_av_nopts_value(void) { return AV_NOPTS_VALUE; }

#endif
