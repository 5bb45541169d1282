/*
 * atomicfile.h: write a whole file so that readers see the old content or
 * the new, never half of it, and the new content survives a crash.
 *
 * Plans and reports are read by people and by the next step of a pipeline; a
 * crash or a full disk must not leave a truncated plan that looks valid.
 */
#ifndef ES_ATOMICFILE_H
#define ES_ATOMICFILE_H

#include <stddef.h>

/* Write data to path atomically: a temporary file in the same folder
   (path.tmp.<pid>.<n>, created O_EXCL, mode 0644 & ~umask), written in full
   (short writes and EINTR handled), fsync'd, renamed over path, and the
   folder fsync'd. On any failure the temporary file is removed, path is
   untouched, and errno_out (when not NULL) receives errno.
   Returns ES_OK, ES_EINVAL (NULL path, NULL data with len > 0) or ES_EIO. */
int es_write_file_atomic(const char *path, const void *data, size_t len, int *errno_out);

#endif
