/*
 * fileread.h: read a small file whole, with a size limit, never blocking.
 *
 * Configuration, credentials and token files name paths a user (or an attacker
 * who controls the environment) chooses: AWS_CONFIG_FILE=/dev/zero would grow
 * without end, a FIFO would block the process forever at open() or read(). So
 * the file is opened with O_NONBLOCK (opening a FIFO then returns at once), it
 * must be a regular file (fstat on the open descriptor: no race with a rename),
 * and at most max_bytes are read. The one exception is the null device, which
 * reads as an empty file (AWS_CONFIG_FILE=/dev/null is the usual way to say
 * "no config file"); it is recognised by its device number, not its path.
 *
 * The buffer may hold secrets (a credentials file): every intermediate copy is
 * zeroed, and the caller releases the result with es_buf_wipe_free.
 */
#ifndef ES_FILEREAD_H
#define ES_FILEREAD_H

#include "es_buf.h"

#include <stddef.h>

/* max_bytes must be below this (1 GiB): the reader is for small files. */
#define ES_FILE_READ_LIMIT ((size_t)1 << 30)

/* What kind of object a refused path names (for messages). */
enum es_file_kind {
  ES_FILE_REGULAR = 0,
  ES_FILE_DIRECTORY,
  ES_FILE_FIFO,
  ES_FILE_CHAR_DEVICE,
  ES_FILE_BLOCK_DEVICE,
  ES_FILE_SOCKET,
  ES_FILE_OTHER
};

/* A short noun for a kind: "directory", "FIFO", "character device", ... */
const char *es_file_kind_name(enum es_file_kind k);

/*
 * Read the regular file at path (NUL-terminated) into out (which must be empty,
 * ES_BUF_INIT). Returns:
 *   ES_OK        out holds the contents (out->len <= max_bytes; NUL-terminated;
 *                empty for the null device);
 *   ES_ENOTFOUND the path does not exist (ENOENT, or a non-directory in the path);
 *   ES_ENOTREG   it is a directory, FIFO, device or socket (*kind says which);
 *   ES_EFILETOOBIG   it holds more than max_bytes bytes;
 *   ES_EIO       another failure (permission, I/O): *sys_errno holds errno;
 *   ES_ENOMEM    out of memory;
 *   ES_EINVAL    path or out is NULL, out not empty, max_bytes >= ES_FILE_READ_LIMIT.
 * On failure out is empty and its memory released. kind and sys_errno may be NULL.
 * Never blocks on the object the path names, never follows it past max_bytes.
 */
int es_file_read(const char *path, size_t max_bytes, struct es_buf *out,
                 enum es_file_kind *kind, int *sys_errno);

#endif
