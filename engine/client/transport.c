/*
 * transport.c: the run's TLS trust and identity and its source addresses;
 * see transport.h.
 */
#include "transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "fsutil.h"

int hn_source_addrs_parse(const char *list, struct hn_source_addrs *out, char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, ",");
        char one[48];
        while (n > 0 && (*p == ' ' || *p == '\t'))
            p++, n--;
        size_t m = n;
        while (m > 0 && (p[m - 1] == ' ' || p[m - 1] == '\t'))
            m--;
        if (m == 0 || m >= sizeof one) {
            snprintf(err, err_len, "--source-ips: '%.*s' is not an IP address",
                     (int)(m > 60 ? 60 : m), p);
            return -1;
        }
        memcpy(one, p, m);
        one[m] = '\0';
        if (out->n == HN_SOURCE_ADDRS_MAX) {
            snprintf(err, err_len, "--source-ips: more than %d addresses", HN_SOURCE_ADDRS_MAX);
            return -1;
        }
        struct sockaddr_storage *ss = &out->addr[out->n];
        struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
        struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
        if (inet_pton(AF_INET, one, &v4->sin_addr) == 1) {
            v4->sin_family = AF_INET;
            out->len[out->n] = sizeof *v4;
        } else if (inet_pton(AF_INET6, one, &v6->sin6_addr) == 1) {
            v6->sin6_family = AF_INET6;
            out->len[out->n] = sizeof *v6;
        } else {
            snprintf(err, err_len, "--source-ips: '%s' is not an IP address", one);
            return -1;
        }
        memcpy(out->text[out->n], one, m + 1);
        out->n++;
        p += n;
        if (*p == ',')
            p++;
    }
    if (out->n == 0) {
        snprintf(err, err_len, "--source-ips: no address given");
        return -1;
    }
    return 0;
}

int hn_source_addrs_load(const struct hn_transport *t, struct hn_source_addrs **out)
{
    *out = NULL;
    if (t->source_ips == NULL)
        return 0;
    char err[160];
    struct hn_source_addrs *s = malloc(sizeof *s);
    if (s == NULL || hn_source_addrs_parse(t->source_ips, s, err, sizeof err) != 0) {
        free(s);
        return -1;
    }
    *out = s;
    return 0;
}

/* OpenSSL's first reason ("no start line"), for a message of ours. */
static const char *first_reason(void)
{
    const char *r = ERR_reason_error_string(ERR_peek_error());
    return r ? r : "unknown reason";
}

/* Whether file holds at least one PEM certificate. */
static bool has_certificate(const char *option, const char *file, char *err, size_t err_len)
{
    FILE *f = fopen(file, "r");
    if (f == NULL) {
        snprintf(err, err_len, "%s %s: cannot read it (%s)", option, file, strerror(errno));
        return false;
    }
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (x == NULL) {
        snprintf(err, err_len, "%s %s: not a PEM certificate (%s)", option, file, first_reason());
        return false;
    }
    X509_free(x);
    return true;
}

/* t's trust and identity on ctx. 0, or -1 with err. */
static int apply_ssl(const struct hn_transport *t, SSL_CTX *ctx, char *err, size_t err_len)
{
    ERR_clear_error();
    int rc = -1;
    const char *key = t->key_file ? t->key_file : t->cert_file;
    if (t->ca_file != NULL && SSL_CTX_load_verify_locations(ctx, t->ca_file, NULL) != 1)
        snprintf(err, err_len, "--ca-cert %s: no PEM certificate in it (%s)", t->ca_file,
                 first_reason());
    else if (t->cert_file != NULL && SSL_CTX_use_certificate_chain_file(ctx, t->cert_file) != 1)
        snprintf(err, err_len, "--client-cert %s: not a PEM certificate (%s)", t->cert_file,
                 first_reason());
    else if (t->cert_file != NULL && SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 &&
             ERR_GET_REASON(ERR_peek_error()) != X509_R_KEY_VALUES_MISMATCH)
        snprintf(err, err_len, "%s %s: not a PEM private key (%s)",
                 t->key_file ? "--client-key" : "--client-cert", key, first_reason());
    else if (t->cert_file != NULL && SSL_CTX_check_private_key(ctx) != 1)
        snprintf(err, err_len, "--client-key %s: not the key of the certificate in %s", key,
                 t->cert_file);
    else
        rc = 0;
    if (rc == 0)
        SSL_CTX_set_verify(ctx, t->insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
    ERR_clear_error();
    return rc;
}

void *hn_transport_ssl_ctx(const struct hn_transport *t, char *err, size_t err_len)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) {
        snprintf(err, err_len, "TLS setup failed (out of memory)");
        return NULL;
    }
    if (t->ca_file == NULL)
        SSL_CTX_set_default_verify_paths(ctx);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    if (apply_ssl(t, ctx, err, err_len) != 0) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

/* Whether a socket can be bound to the address: it is one of this
 * machine's. */
static int check_bindable(const struct hn_source_addrs *s, char *err, size_t err_len)
{
    for (unsigned i = 0; i < s->n; i++) {
        int fd = socket(s->addr[i].ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (const struct sockaddr *)&s->addr[i], s->len[i]) != 0) {
            snprintf(err, err_len, "--source-ips: cannot connect from %s (%s)", s->text[i],
                     strerror(errno));
            if (fd >= 0)
                close(fd);
            return -1;
        }
        close(fd);
    }
    return 0;
}

int hn_transport_check(const struct hn_transport *t, bool here, char *err, size_t err_len)
{
    if (t->key_file != NULL && t->cert_file == NULL) {
        snprintf(err, err_len, "--client-key needs --client-cert");
        return -1;
    }
    if (!here) {
        struct hn_source_addrs *s = NULL;
        if (t->source_ips == NULL)
            return 0;
        if ((s = malloc(sizeof *s)) == NULL) {
            snprintf(err, err_len, "out of memory");
            return -1;
        }
        int rc = hn_source_addrs_parse(t->source_ips, s, err, err_len);
        free(s);
        return rc;
    }
    if (t->ca_file != NULL && !has_certificate("--ca-cert", t->ca_file, err, err_len))
        return -1;
    if (t->cert_file != NULL &&
        (!has_certificate("--client-cert", t->cert_file, err, err_len) ||
         (t->key_file != NULL && !hn_file_readable("--client-key", t->key_file, err, err_len))))
        return -1;
    if (t->ca_file != NULL || t->cert_file != NULL) {
        SSL_CTX *ctx = hn_transport_ssl_ctx(t, err, err_len);
        if (ctx == NULL)
            return -1;
        SSL_CTX_free(ctx);
    }
    if (t->source_ips != NULL) {
        struct hn_source_addrs *s = malloc(sizeof *s);
        if (s == NULL) {
            snprintf(err, err_len, "out of memory");
            return -1;
        }
        int rc = hn_source_addrs_parse(t->source_ips, s, err, err_len) != 0 ||
                         check_bindable(s, err, err_len) != 0
                     ? -1
                     : 0;
        free(s);
        return rc;
    }
    return 0;
}

void hn_tls_verify_message(const char *x509_reason, char *buf, size_t n)
{
    /* OpenSSL's "hostname mismatch" and "IP address mismatch", and curl's
     * own host check ("no alternative certificate subject name matches"),
     * say one thing. */
    bool wrong_host = strstr(x509_reason, "mismatch") != NULL ||
                      strstr(x509_reason, "subject name") != NULL ||
                      strstr(x509_reason, "does not match") != NULL;
    snprintf(buf, n, "TLS certificate verify failed (%s)",
             wrong_host ? "not issued for this host" : x509_reason);
}

void hn_tls_failure_message(const char *what, const char *ssl_reason, char *buf, size_t n)
{
    /* curl says "OpenSSL/3.0.x: error:0A00045C:SSL routines::tlsv13 alert
     * certificate required, errno 0": keep the reason only (no versions or
     * numbers, so the failures table groups). */
    const char *r = ssl_reason ? strstr(ssl_reason, "routines::") : NULL;
    r = r ? r + strlen("routines::") : ssl_reason;
    size_t len = r ? strcspn(r, ",\n") : 0;
    if (len == 0)
        snprintf(buf, n, "%s", what);
    else
        snprintf(buf, n, "%s (%.*s)", what, (int)(len > 120 ? 120 : len), r);
}
