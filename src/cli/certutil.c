/*
 * kmhost certutil: the trusted root store that code integrity checks driver
 * signatures against, with Windows' certutil.exe syntax for the root store:
 *   certutil -addstore root FILE      (PEM or DER certificate)
 *   certutil -store root
 *   certutil -delstore root CERTID    (SHA-1 thumbprint or serial number)
 * Switches start with '-' or '/' and are case-insensitive. The store is the
 * trusted/ folder of the kmhost home, one <thumbprint>.pem per root, so
 * dropping a PEM file there by hand works too. A root must be self-signed:
 * chain building ends only at a self-signed trust anchor.
 */
#include "ci/ci.h"
#include "cli/cli.h"

#include <dirent.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static const char CertpStoreLine[] = "root \"Trusted Root Certification Authorities\"\n";

static bool CertpIsSwitch(const char *Arg, const char *Name)
{
    return (Arg[0] == '/' || Arg[0] == '-') && strcasecmp(Arg + 1, Name) == 0;
}

static int CertpFailed(const char *Verb, const char *Reason)
{
    fprintf(stderr, "CertUtil: %s command FAILED: %s\n", Verb, Reason);
    return KM_EXIT_LOAD_FAILED;
}

static int CertpUsage(void)
{
    fprintf(stderr, "Usage:\n"
                    "  kmhost certutil -addstore root FILE    trust a root certificate\n"
                    "  kmhost certutil -store root            list the trusted roots\n"
                    "  kmhost certutil -delstore root CERTID  remove one (thumbprint or "
                    "serial)\n");
    return KM_EXIT_USAGE;
}

static X509 *CertpRead(const char *Path)
{
    BIO *bio = BIO_new_file(Path, "rb");
    X509 *cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    if (bio && !cert && BIO_reset(bio) == 0)
        cert = d2i_X509_bio(bio, NULL);
    BIO_free(bio);
    ERR_clear_error();
    return cert;
}

static void CertpThumbprint(X509 *Cert, char *Hex, size_t Len)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    Hex[0] = 0;
    if (X509_digest(Cert, EVP_sha1(), md, &n) != 1)
        return;
    for (unsigned int i = 0; i < n && 2 * i + 2 < Len; i++)
        snprintf(Hex + 2 * i, Len - 2 * i, "%02x", md[i]);
}

static void CertpSerial(X509 *Cert, char *Hex, size_t Len)
{
    const ASN1_INTEGER *serial = X509_get0_serialNumber(Cert);
    Hex[0] = 0;
    for (int i = 0; i < serial->length && (size_t)(2 * i + 2) < Len; i++)
        snprintf(Hex + 2 * i, Len - 2 * (size_t)i, "%02x", serial->data[i]);
}

static void CertpName(const X509_NAME *Name, char *Buf, size_t Len)
{
    BIO *bio = BIO_new(BIO_s_mem());
    Buf[0] = 0;
    if (bio && X509_NAME_print_ex(bio, Name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
        int n = BIO_read(bio, Buf, (int)Len - 1);
        Buf[n > 0 ? n : 0] = 0;
    }
    BIO_free(bio);
}

static int CertpAdd(const char *Dir, const char *File)
{
    X509 *cert = CertpRead(File);
    if (!cert)
        return CertpFailed("-addstore", "the file is not an X.509 certificate (PEM or DER)");
    char subject[256], thumb[64], path[4200];
    CertpName(X509_get_subject_name(cert), subject, sizeof(subject));
    CertpThumbprint(cert, thumb, sizeof(thumb));
    EVP_PKEY *key = X509_get0_pubkey(cert);
    bool selfSigned =
        X509_check_issued(cert, cert) == X509_V_OK && key && X509_verify(cert, key) == 1;
    ERR_clear_error();
    if (!selfSigned) {
        X509_free(cert);
        return CertpFailed("-addstore", "the certificate is not self-signed: only a root "
                                        "certificate (subject = issuer, signed by its own "
                                        "key) can anchor a chain");
    }
    if (mkdir(Dir, 0700) != 0 && errno != EEXIST) {
        X509_free(cert);
        return CertpFailed("-addstore", strerror(errno));
    }
    snprintf(path, sizeof(path), "%s/%s.pem", Dir, thumb);
    BIO *out = BIO_new_file(path, "wb");
    bool ok = out && PEM_write_bio_X509(out, cert) == 1;
    BIO_free(out);
    X509_free(cert);
    if (!ok)
        return CertpFailed("-addstore", "cannot write to the trusted root folder");
    printf("%sSignature matches Public Key\nCertificate \"%s\" added to store.\n"
           "CertUtil: -addstore command completed successfully.\n",
           CertpStoreLine, subject);
    return KM_EXIT_OK;
}

/* Calls Visit for each root in the store, in directory order; stops early
   when Visit returns true. */
static void CertpWalk(const char *Dir, bool (*Visit)(const char *Path, X509 *Cert, void *Ctx),
                      void *Ctx)
{
    DIR *dir = opendir(Dir);
    if (!dir)
        return;
    for (struct dirent *e; (e = readdir(dir));) {
        size_t n = strlen(e->d_name);
        if (n < 5 ||
            (strcasecmp(e->d_name + n - 4, ".pem") && strcasecmp(e->d_name + n - 4, ".crt") &&
             strcasecmp(e->d_name + n - 4, ".cer")))
            continue;
        char path[4200];
        snprintf(path, sizeof(path), "%s/%s", Dir, e->d_name);
        X509 *cert = CertpRead(path);
        bool stop = cert && Visit(path, cert, Ctx);
        X509_free(cert);
        if (stop)
            break;
    }
    closedir(dir);
}

static bool CertpShow(const char *Path, X509 *Cert, void *Ctx)
{
    int *index = Ctx;
    char serial[128], issuer[256], subject[256], thumb[64];
    (void)Path;
    CertpSerial(Cert, serial, sizeof(serial));
    CertpName(X509_get_issuer_name(Cert), issuer, sizeof(issuer));
    CertpName(X509_get_subject_name(Cert), subject, sizeof(subject));
    CertpThumbprint(Cert, thumb, sizeof(thumb));
    printf("================ Certificate %d ================\n"
           "Serial Number: %s\nIssuer: %s\nSubject: %s\nCert Hash(sha1): %s\n",
           (*index)++, serial, issuer, subject, thumb);
    return false;
}

typedef struct CERTP_MATCH {
    const char *Id;
    char Path[4200];
    char Subject[256];
} CERTP_MATCH;

static bool CertpFind(const char *Path, X509 *Cert, void *Ctx)
{
    CERTP_MATCH *m = Ctx;
    char serial[128], thumb[64], id[128];
    size_t j = 0;
    for (const char *c = m->Id; *c && j + 1 < sizeof(id); c++)
        if (*c != ' ' && *c != ':')
            id[j++] = *c;
    id[j] = 0;
    CertpSerial(Cert, serial, sizeof(serial));
    CertpThumbprint(Cert, thumb, sizeof(thumb));
    if (strcasecmp(id, thumb) && strcasecmp(id, serial))
        return false;
    snprintf(m->Path, sizeof(m->Path), "%s", Path);
    CertpName(X509_get_subject_name(Cert), m->Subject, sizeof(m->Subject));
    return true;
}

int KmCliCertutil(int argc, char **argv)
{
    char dir[4096];
    if (argc < 3 || strcasecmp(argv[2], "root") != 0)
        return CertpUsage();
    if (!CiGetTrustedDir(dir, sizeof(dir)))
        return CertpFailed(argv[1], "the kmhost home directory cannot be determined");
    if (CertpIsSwitch(argv[1], "addstore") && argc == 4)
        return CertpAdd(dir, argv[3]);
    if (CertpIsSwitch(argv[1], "store") && argc == 3) {
        int index = 0;
        printf("%s", CertpStoreLine);
        CertpWalk(dir, CertpShow, &index);
        printf("CertUtil: -store command completed successfully.\n");
        return KM_EXIT_OK;
    }
    if (CertpIsSwitch(argv[1], "delstore") && argc == 4) {
        CERTP_MATCH m = {.Id = argv[3]};
        CertpWalk(dir, CertpFind, &m);
        if (!m.Path[0])
            return CertpFailed("-delstore", "Cannot find object or property: no root with "
                                            "that thumbprint or serial number");
        if (unlink(m.Path) != 0)
            return CertpFailed("-delstore", strerror(errno));
        printf("%sDeleting Certificate: %s\nCertUtil: -delstore command completed "
               "successfully.\n",
               CertpStoreLine, m.Subject);
        return KM_EXIT_OK;
    }
    return CertpUsage();
}
