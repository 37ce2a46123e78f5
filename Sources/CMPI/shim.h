// The only C header NormBenchMPI sees for MPI (Open MPI 4.1, `pkg-config ompi-c`).
// Open MPI's predefined handles are casts of the addresses of global objects and
// MPI_IN_PLACE / MPI_STATUS_IGNORE are casts of small integers: none of them
// import into Swift, so they are returned from static inline functions here.
#ifndef NORMBENCH_CMPI_SHIM_H
#define NORMBENCH_CMPI_SHIM_H

#include <mpi.h>

static inline MPI_Comm nb_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype nb_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype nb_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype nb_mpi_int(void) { return MPI_INT; }
static inline MPI_Datatype nb_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Op nb_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Op nb_mpi_max(void) { return MPI_MAX; }
static inline MPI_Info nb_mpi_info_null(void) { return MPI_INFO_NULL; }
static inline void *nb_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Status *nb_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline int nb_mpi_any_source(void) { return MPI_ANY_SOURCE; }
static inline int nb_mpi_thread_serialized(void) { return MPI_THREAD_SERIALIZED; }
static inline int nb_mpi_comm_type_shared(void) { return MPI_COMM_TYPE_SHARED; }
static inline int nb_mpi_max_library_version_string(void) { return MPI_MAX_LIBRARY_VERSION_STRING; }
static inline int nb_mpi_max_processor_name(void) { return MPI_MAX_PROCESSOR_NAME; }

#endif
