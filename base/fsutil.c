/* fsutil.c: mkdir -p, full writes, readable files; see fsutil.h. */
#include "fsutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int hn_mkdirs(const char *dir, mode_t mode, char *failed, size_t failed_len)
{
    if (dir[0] == '\0') {
        errno = ENOENT;
        return -1;
    }
    char *buf = strdup(dir);
    if (buf == NULL)
        return -1;
    int rc = 0;
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        struct stat st;
        if (mkdir(buf, mode) != 0) {
            int e = errno;
            if (e != EEXIST || stat(buf, &st) != 0 || !S_ISDIR(st.st_mode)) {
                if (failed != NULL && failed_len > 0)
                    snprintf(failed, failed_len, "%s", buf);
                errno = e == EEXIST ? ENOTDIR : e;
                rc = -1;
                break;
            }
        }
        *p = saved;
        if (saved == '\0')
            break;
    }
    free(buf);
    return rc;
}

int hn_mkdirs_parent(const char *path, mode_t mode, char *failed, size_t failed_len)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        return 0;
    size_t len = (size_t)(slash - path);
    while (len > 0 && path[len - 1] == '/')
        len--;
    if (len == 0)
        return 0; /* the root directory */
    char *dir = strndup(path, len);
    if (dir == NULL)
        return -1;
    int rc = hn_mkdirs(dir, mode, failed, failed_len);
    int e = errno;
    free(dir);
    errno = e;
    return rc;
}

int hn_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

bool hn_file_readable(const char *option, const char *file, char *err, size_t err_len)
{
    FILE *f = fopen(file, "r");
    if (f == NULL) {
        snprintf(err, err_len, "%s %s: cannot read it (%s)", option, file, strerror(errno));
        return false;
    }
    fclose(f);
    return true;
}
