/*
 * transport.h: how a run's connections are made, beside what they carry:
 * whom TLS trusts and who the client is (--insecure, --ca-cert,
 * --client-cert, --client-key) and which local addresses connections come
 * from (--source-ips, as k6's --local-ips). Checked once before a run, so
 * a bad file or address is one line and exit 2; applied by both HTTP
 * clients, so a certificate fault reads the same whichever met it.
 *
 * Threads: hn_transport_check and hn_source_addrs_parse may be called from
 * any thread; an SSL_CTX is set up and a message built on the thread that
 * owns them.
 */
#ifndef HN_TRANSPORT_H
#define HN_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define HN_SOURCE_ADDRS_MAX 256

/* The run's transport options. The strings belong to whoever set them and
 * live as long as the run. All zero: verify against the system's CAs, no
 * client certificate, the kernel picks the source address. */
struct hn_transport {
    bool insecure;            /* no certificate or host name check */
    const char *ca_file;      /* PEM: trust these CAs instead of the system's */
    const char *cert_file;    /* PEM: the client certificate (chain) */
    const char *key_file;     /* PEM: its key; NULL = in cert_file */
    const char *source_ips;   /* "A,B,...": local addresses, one per user in turn */
};

/* Local addresses to connect from, parsed from "A,B,..." (IPv4 or IPv6). */
struct hn_source_addrs {
    struct sockaddr_storage addr[HN_SOURCE_ADDRS_MAX];
    socklen_t len[HN_SOURCE_ADDRS_MAX];
    char text[HN_SOURCE_ADDRS_MAX][56]; /* as written (room for curl's "host!" before it) */
    unsigned n;
};

/* Parses list into *out. Returns 0, or -1 with a one-line reason naming
 * the bad entry. */
int hn_source_addrs_parse(const char *list, struct hn_source_addrs *out, char *err, size_t err_len);

/* The addresses of t->source_ips for a client: *out is NULL when there are
 * none. -1 when out of memory or the list is bad (it was checked before
 * the run: hn_transport_check). Free *out with free(). */
int hn_source_addrs_load(const struct hn_transport *t, struct hn_source_addrs **out);

/* Checks t before a run: each source address parses, a key comes with a
 * certificate, and with here (the connections are made on this machine)
 * the files are readable PEM of the right kind, the key is the
 * certificate's and binding to each address works. Returns 0, or -1 with
 * one line naming the option ("--ca-cert ca.pem: cannot read it (...)").
 * [any] */
int hn_transport_check(const struct hn_transport *t, bool here, char *err, size_t err_len);

/* A new OpenSSL client context (an SSL_CTX *, void here so this header
 * needs no OpenSSL) with t's trust and identity, non-blocking friendly
 * (partial writes, a moving write buffer) and OpenSSL 3's unexpected EOF
 * taken as an EOF. NULL with a one-line reason. */
void *hn_transport_ssl_ctx(const struct hn_transport *t, char *err, size_t err_len);

/* The stable one-line message of a TLS failure, from OpenSSL's words for
 * it (an X509 verify reason or an SSL routines reason, as either client
 * reports them): "TLS certificate verify failed (certificate has
 * expired)", "TLS handshake failed (tlsv13 alert certificate required)". */
void hn_tls_verify_message(const char *x509_reason, char *buf, size_t n);
void hn_tls_failure_message(const char *what, const char *ssl_reason, char *buf, size_t n);

#endif
