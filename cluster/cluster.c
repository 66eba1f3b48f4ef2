/* cluster.c: helpers shared by the master's fleet and the worker's agent. */
#include "cluster.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <zmq.h>

int hn_cluster_send(void *sock, const char *id, json_t *msg)
{
    char *text = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
    json_decref(msg);
    if (text == NULL) {
        errno = ENOMEM;
        return -1;
    }
    int rc = 0;
    if (id != NULL && zmq_send(sock, id, strlen(id), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        rc = -1;
    if (rc == 0 && zmq_send(sock, text, strlen(text), ZMQ_DONTWAIT) < 0)
        rc = -1;
    free(text);
    return rc;
}

json_t *hn_cluster_msg(const char *type)
{
    return json_pack("{s:s, s:i}", "type", type, "v", HN_CLUSTER_PROTOCOL);
}

void hn_cluster_sha256(const void *data, size_t len, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
    for (unsigned i = 0; i < n && i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    out[64] = '\0';
}

/* A CURVE key pair from the secret: the secret key is a hash of role and
 * secret, so every holder of the secret derives the same pairs. */
static int derive_pair(const char *role, const char *secret, char pub[41], char sec[41])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(ctx, role, strlen(role)) == 1 &&
             EVP_DigestUpdate(ctx, secret, strlen(secret)) == 1 &&
             EVP_DigestFinal_ex(ctx, md, &n) == 1 && n == 32;
    EVP_MD_CTX_free(ctx);
    if (!ok || zmq_z85_encode(sec, md, 32) == NULL || zmq_curve_public(pub, sec) != 0)
        return -1;
    OPENSSL_cleanse(md, sizeof md);
    return 0;
}

int hn_cluster_curve_keys(const char *secret, struct hn_curve_keys *k, char *err, size_t err_len)
{
    if (!zmq_has("curve")) {
        snprintf(err, err_len, "--cluster-key: this libzmq was built without CURVE");
        return -1;
    }
    if (derive_pair("hornet cluster master\n", secret, k->server_public, k->server_secret) != 0 ||
        derive_pair("hornet cluster worker\n", secret, k->client_public, k->client_secret) != 0) {
        snprintf(err, err_len, "--cluster-key: cannot derive the CURVE keys");
        return -1;
    }
    return 0;
}

char *hn_cluster_b64_encode(const void *data, size_t len)
{
    if (len > (size_t)INT32_MAX / 2)
        return NULL;
    char *out = malloc(4 * ((len + 2) / 3) + 1);
    if (out != NULL)
        EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    return out;
}

unsigned char *hn_cluster_b64_decode(const char *text, size_t *len)
{
    size_t n = strlen(text);
    if (n % 4 != 0 || n > (size_t)INT32_MAX / 2)
        return NULL;
    unsigned char *out = malloc(n / 4 * 3 + 1);
    if (out == NULL)
        return NULL;
    int got = n ? EVP_DecodeBlock(out, (const unsigned char *)text, (int)n) : 0;
    if (got < 0) {
        free(out);
        return NULL;
    }
    /* EVP_DecodeBlock counts the padding as zero bytes. */
    size_t pad = n >= 2 && text[n - 1] == '=' ? (text[n - 2] == '=' ? 2 : 1) : 0;
    *len = (size_t)got - pad;
    return out;
}

int hn_cluster_plugin_sha256(const char *path, bool builtin, char out[65], char *err,
                             size_t err_len)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        snprintf(err, err_len, "cannot hash the plugin: no SHA-256");
        return -1;
    }
    FILE *f = builtin ? NULL : fopen(path, "rb");
    if (builtin) {
        EVP_DigestUpdate(ctx, "builtin:", 8);
        EVP_DigestUpdate(ctx, path, strlen(path));
    } else if (f == NULL) {
        EVP_MD_CTX_free(ctx);
        snprintf(err, err_len, "cannot read the plugin '%s': %s", path, strerror(errno));
        return -1;
    } else {
        char buf[65536];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, f)) > 0)
            EVP_DigestUpdate(ctx, buf, n);
        bool bad = ferror(f);
        fclose(f);
        if (bad) {
            EVP_MD_CTX_free(ctx);
            snprintf(err, err_len, "cannot read the plugin '%s'", path);
            return -1;
        }
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx, md, &len);
    EVP_MD_CTX_free(ctx);
    for (unsigned i = 0; i < len && i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    out[64] = '\0';
    return 0;
}
