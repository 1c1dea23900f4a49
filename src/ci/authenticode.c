/*
 * Authenticode verification of a driver file (Windows Authenticode Portable
 * Executable Signature Format):
 *   - the certificate table holds WIN_CERTIFICATE entries, each aligned on 8
 *     bytes; the signature is the first of revision 2.0 and type
 *     WIN_CERT_TYPE_PKCS_SIGNED_DATA, a DER PKCS#7 SignedData;
 *   - its content is SpcIndirectDataContent (SPC_INDIRECT_DATA_OBJID), whose
 *     data is SpcPeImageData and whose messageDigest is a DigestInfo: the
 *     image hash and the algorithm that made it;
 *   - the SignerInfo signs the content's value without the outer SEQUENCE
 *     tag and length, so PKCS7_verify gets exactly those bytes;
 *   - the signer certificate must chain to a trusted root, unless the policy
 *     is test signing, under which any certificate whose signature verifies
 *     will do.
 * Kernel-mode code integrity has no trusted clock when it checks boot
 * drivers and does not evaluate certificate validity periods, so neither do we.
 */
#include "ci/cip.h"

#include <dirent.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CIP_OID_SPC_INDIRECT_DATA "1.3.6.1.4.1.311.2.1.4"
#define CIP_OID_SPC_PE_IMAGE_DATA "1.3.6.1.4.1.311.2.1.15"

typedef struct CIP_SIGNATURE {
    PKCS7 *P7;
    const uint8_t *Content; /* SpcIndirectDataContent's value, as signed */
    size_t ContentLen;
    const EVP_MD *Md;
    uint8_t Digest[EVP_MAX_MD_SIZE];
    size_t DigestLen;
    X509 *Signer; /* owned by P7 */
} CIP_SIGNATURE;

static uint32_t Cipu32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static bool CipIsOid(const ASN1_OBJECT *Obj, const char *Oid)
{
    char text[80];
    return Obj && OBJ_obj2txt(text, sizeof(text), Obj, 1) > 0 && strcmp(text, Oid) == 0;
}

static void CipNameText(const X509_NAME *Name, char *Buf, size_t Len)
{
    BIO *bio = BIO_new(BIO_s_mem());
    Buf[0] = 0;
    if (!bio)
        return;
    if (X509_NAME_print_ex(bio, Name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
        int n = BIO_read(bio, Buf, (int)Len - 1);
        Buf[n > 0 ? n : 0] = 0;
    }
    BIO_free(bio);
}

/* The DER of the first signature in the certificate table, or a refusal. */
static NTSTATUS CipFindSignedData(const uint8_t *File, const CIP_PE_LAYOUT *Layout,
                                  const uint8_t **Der, size_t *DerLen, char *Why, size_t WhyLen)
{
    size_t at = 0;
    if (Layout->CertSize < CIP_WIN_CERTIFICATE_HEADER)
        return CipRefuse(Why, WhyLen, "the certificate table is truncated (%zu bytes)",
                         Layout->CertSize);
    while (Layout->CertSize - at >= CIP_WIN_CERTIFICATE_HEADER) {
        const uint8_t *entry = File + Layout->CertOffset + at;
        uint32_t length = Cipu32(entry);
        uint16_t revision = (uint16_t)(entry[4] | entry[5] << 8);
        uint16_t type = (uint16_t)(entry[6] | entry[7] << 8);
        if (length < CIP_WIN_CERTIFICATE_HEADER || length > Layout->CertSize - at)
            return CipRefuse(Why, WhyLen,
                             "the certificate table is truncated or corrupt: an entry's "
                             "dwLength (%u) does not fit in it (%zu bytes left)",
                             length, Layout->CertSize - at);
        if (revision == CIP_WIN_CERT_REVISION_2_0 && type == CIP_WIN_CERT_TYPE_PKCS_SIGNED_DATA) {
            *Der = entry + CIP_WIN_CERTIFICATE_HEADER;
            *DerLen = length - CIP_WIN_CERTIFICATE_HEADER;
            return STATUS_SUCCESS;
        }
        at += ((size_t)length + 7) & ~(size_t)7;
        if (at > Layout->CertSize)
            break;
    }
    return CipRefuse(Why, WhyLen,
                     "the certificate table holds no Authenticode signature "
                     "(WIN_CERT_TYPE_PKCS_SIGNED_DATA, revision 2.0)");
}

/* Parses SignedData{SpcIndirectDataContent{SpcPeImageData, DigestInfo}}. */
static NTSTATUS CipParseSignature(const uint8_t *Der, size_t DerLen, CIP_SIGNATURE *Sig, char *Why,
                                  size_t WhyLen)
{
    const unsigned char *p = Der;
    NTSTATUS status = STATUS_INVALID_IMAGE_HASH;
    STACK_OF(ASN1_TYPE) *indirect = NULL, *attribute = NULL;
    X509_SIG *digestInfo = NULL;
    STACK_OF(X509) *signers = NULL;

    if (DerLen > INT32_MAX || !(Sig->P7 = d2i_PKCS7(NULL, &p, (long)DerLen)))
        return CipRefuse(Why, WhyLen, "the signature is not a valid PKCS#7 structure");
    PKCS7 *p7 = Sig->P7;
    if (!PKCS7_type_is_signed(p7) || !p7->d.sign || !p7->d.sign->contents) {
        status = CipRefuse(Why, WhyLen, "the signature is not PKCS#7 SignedData");
        goto out;
    }
    PKCS7 *inner = p7->d.sign->contents;
    if (!CipIsOid(inner->type, CIP_OID_SPC_INDIRECT_DATA) || !inner->d.other ||
        inner->d.other->type != V_ASN1_SEQUENCE || !inner->d.other->value.sequence) {
        status = CipRefuse(Why, WhyLen,
                           "the signature's content is not SpcIndirectDataContent (%s): it is "
                           "not an Authenticode signature",
                           CIP_OID_SPC_INDIRECT_DATA);
        goto out;
    }
    const ASN1_STRING *seq = inner->d.other->value.sequence;
    const unsigned char *value = seq->data;
    long valueLen = 0;
    int tag, xclass;
    if (ASN1_get_object(&value, &valueLen, &tag, &xclass, seq->length) & 0x80) {
        status = CipRefuse(Why, WhyLen, "SpcIndirectDataContent is malformed");
        goto out;
    }
    Sig->Content = value;
    Sig->ContentLen = (size_t)valueLen;

    p = seq->data;
    indirect = d2i_ASN1_SEQUENCE_ANY(NULL, &p, seq->length);
    if (!indirect || sk_ASN1_TYPE_num(indirect) != 2 ||
        sk_ASN1_TYPE_value(indirect, 0)->type != V_ASN1_SEQUENCE ||
        sk_ASN1_TYPE_value(indirect, 1)->type != V_ASN1_SEQUENCE) {
        status = CipRefuse(Why, WhyLen, "SpcIndirectDataContent is malformed");
        goto out;
    }
    const ASN1_STRING *data = sk_ASN1_TYPE_value(indirect, 0)->value.sequence;
    p = data->data;
    attribute = d2i_ASN1_SEQUENCE_ANY(NULL, &p, data->length);
    if (!attribute || sk_ASN1_TYPE_num(attribute) < 1 ||
        sk_ASN1_TYPE_value(attribute, 0)->type != V_ASN1_OBJECT ||
        !CipIsOid(sk_ASN1_TYPE_value(attribute, 0)->value.object, CIP_OID_SPC_PE_IMAGE_DATA)) {
        status =
            CipRefuse(Why, WhyLen, "the signature does not sign a PE image (SpcPeImageData, %s)",
                      CIP_OID_SPC_PE_IMAGE_DATA);
        goto out;
    }
    const ASN1_STRING *digest = sk_ASN1_TYPE_value(indirect, 1)->value.sequence;
    p = digest->data;
    digestInfo = d2i_X509_SIG(NULL, &p, digest->length);
    const X509_ALGOR *algorithm = NULL;
    const ASN1_OCTET_STRING *hash = NULL;
    if (digestInfo)
        X509_SIG_get0(digestInfo, &algorithm, &hash);
    if (!algorithm || !hash) {
        status = CipRefuse(Why, WhyLen, "the signed DigestInfo is malformed");
        goto out;
    }
    const ASN1_OBJECT *oid = NULL;
    X509_ALGOR_get0(&oid, NULL, NULL, algorithm);
    int nid = OBJ_obj2nid(oid);
    if (nid != NID_sha1 && nid != NID_sha256 && nid != NID_sha384 && nid != NID_sha512) {
        char text[80] = "?";
        OBJ_obj2txt(text, sizeof(text), oid, 0);
        status = CipRefuse(Why, WhyLen,
                           "the image hash uses %s; code integrity accepts SHA1, SHA256, "
                           "SHA384 and SHA512",
                           text);
        goto out;
    }
    Sig->Md = EVP_get_digestbynid(nid);
    if (!Sig->Md || ASN1_STRING_length(hash) != EVP_MD_get_size(Sig->Md)) {
        status = CipRefuse(Why, WhyLen, "the signed image hash has the wrong length");
        goto out;
    }
    Sig->DigestLen = (size_t)ASN1_STRING_length(hash);
    memcpy(Sig->Digest, ASN1_STRING_get0_data(hash), Sig->DigestLen);

    /* PKCS7_verify needs every listed digest algorithm. */
    for (int i = 0; i < sk_X509_ALGOR_num(p7->d.sign->md_algs); i++) {
        const ASN1_OBJECT *alg = NULL;
        X509_ALGOR_get0(&alg, NULL, NULL, sk_X509_ALGOR_value(p7->d.sign->md_algs, i));
        if (!EVP_get_digestbyobj(alg)) {
            status = CipRefuse(Why, WhyLen, "the signature uses an unknown digest algorithm");
            goto out;
        }
    }
    if (sk_PKCS7_SIGNER_INFO_num(PKCS7_get_signer_info(p7)) != 1) {
        status = CipRefuse(Why, WhyLen, "an Authenticode signature has exactly one signer");
        goto out;
    }
    signers = PKCS7_get0_signers(p7, NULL, 0);
    if (!signers || sk_X509_num(signers) != 1) {
        status = CipRefuse(Why, WhyLen, "the signature does not carry its signer's certificate");
        goto out;
    }
    Sig->Signer = sk_X509_value(signers, 0);
    status = STATUS_SUCCESS;
out:
    sk_X509_free(signers);
    X509_SIG_free(digestInfo);
    sk_ASN1_TYPE_pop_free(attribute, ASN1_TYPE_free);
    sk_ASN1_TYPE_pop_free(indirect, ASN1_TYPE_free);
    return status;
}

/* Every certificate in Dir's root files (CipReadRoots), PEM or DER, and
   the fingerprint of the files it read. */
static X509_STORE *CipLoadRoots(const char *Dir, uint8_t Fingerprint[CIP_DIGEST_SIZE])
{
    CIP_ROOT_FILE *files;
    size_t count = CipReadRoots(Dir, &files, Fingerprint);
    X509_STORE *store = X509_STORE_new();
    for (size_t i = 0; store && i < count; i++) {
        BIO *bio = BIO_new_mem_buf(files[i].Data, (int)files[i].Size);
        if (!bio)
            continue;
        int loaded = 0;
        for (X509 *cert; (cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)); loaded++) {
            X509_STORE_add_cert(store, cert);
            X509_free(cert);
        }
        if (!loaded) { /* DER */
            const unsigned char *der = files[i].Data;
            X509 *cert = d2i_X509(NULL, &der, (long)files[i].Size);
            if (cert)
                X509_STORE_add_cert(store, cert);
            X509_free(cert);
        }
        BIO_free(bio);
    }
    CipFreeRoots(files, count);
    ERR_clear_error();
    return store;
}

/* The text of OpenSSL error Err's reason. */
static const char *CipErrorReason(unsigned long Err)
{
    const char *reason = Err ? ERR_reason_error_string(Err) : NULL;
    return reason ? reason : "unknown";
}

/* X509_verify_cert's reason when the signer does not chain to a root. */
static bool CipChainsToRoot(const CIP_SIGNATURE *Sig, const char *TrustedDir,
                            uint8_t Fingerprint[CIP_DIGEST_SIZE], char *Reason, size_t Len)
{
    X509_STORE *store = CipLoadRoots(TrustedDir, Fingerprint);
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    bool trusted = false;
    snprintf(Reason, Len, "out of memory");
    if (store && ctx && X509_STORE_CTX_init(ctx, store, Sig->Signer, Sig->P7->d.sign->cert)) {
        X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(ctx), X509_V_FLAG_NO_CHECK_TIME);
        trusted = X509_verify_cert(ctx) == 1;
        snprintf(Reason, Len, "%s", X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
    }
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return trusted;
}

static void CipInitCrypto(void)
{
    /* Authenticode needs digests and signatures, never ciphers or the system
       OpenSSL configuration: registering every cipher name and reading
       openssl.cnf cost about 5 ms of every kmhost run. No clean-up at
       exit: CiWarmUp may still run in another thread then. */
    OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_ADD_ALL_CIPHERS |
                            OPENSSL_INIT_ADD_ALL_DIGESTS | OPENSSL_INIT_NO_ATEXIT,
                        NULL);
}

void CiWarmUp(void)
{
    /* OpenSSL 3.0 builds its tables of a provider's algorithms of one kind
       the first time one of them is fetched. Parsing a signature's
       certificate fetches every key manager and every decoder (to decode
       its public key), hashing the image every digest, checking the
       signature every signature algorithm. */
    CipInitCrypto();
    EVP_PKEY *key = NULL;
    OSSL_DECODER_CTX_free(OSSL_DECODER_CTX_new_for_pkey(&key, "DER", "SubjectPublicKeyInfo", "RSA",
                                                        EVP_PKEY_PUBLIC_KEY, NULL, NULL));
    EVP_MD_free(EVP_MD_fetch(NULL, "SHA256", NULL));
    EVP_SIGNATURE_free(EVP_SIGNATURE_fetch(NULL, "RSA", NULL));
    ERR_clear_error();
}

NTSTATUS CiVerifyImage(const uint8_t *File, size_t Size, const CI_POLICY *Policy, CI_RESULT *Result,
                       char *Why, size_t WhyLen)
{
    CipInitCrypto();
    if (!File || !Policy || !Result)
        return STATUS_INVALID_PARAMETER;
    memset(Result, 0, sizeof(*Result));
    CIP_PE_LAYOUT *layout = malloc(sizeof(*layout));
    CIP_SIGNATURE sig = {0};
    BIO *content = NULL;
    char reason[256];
    NTSTATUS status;
    if (!layout)
        return CipRefuse(Why, WhyLen, "out of memory while checking the signature");
    if (!CipParseLayout(File, Size, layout, reason, sizeof(reason))) {
        status = CipRefuse(Why, WhyLen, "the image cannot be checked: %s", reason);
        goto out;
    }
    if (layout->CertSize == 0) {
        status = CipRefuse(Why, WhyLen, "the image is not signed");
        goto out;
    }
    const uint8_t *der = NULL;
    size_t derLen = 0;
    status = CipFindSignedData(File, layout, &der, &derLen, Why, WhyLen);
    if (!NT_SUCCESS(status))
        goto out;
    status = CipParseSignature(der, derLen, &sig, Why, WhyLen);
    if (!NT_SUCCESS(status))
        goto out;
    Result->Signed = true;
    CipNameText(X509_get_subject_name(sig.Signer), Result->Subject, sizeof(Result->Subject));
    CipNameText(X509_get_issuer_name(sig.Signer), Result->Issuer, sizeof(Result->Issuer));
    snprintf(Result->DigestAlgorithm, sizeof(Result->DigestAlgorithm), "%s",
             OBJ_nid2sn(EVP_MD_get_type(sig.Md)));

    uint8_t actual[EVP_MAX_MD_SIZE];
    size_t actualLen = CiComputeImageHash(File, Size, Result->DigestAlgorithm, actual,
                                          sizeof(actual), reason, sizeof(reason));
    if (actualLen == 0) {
        status = CipRefuse(Why, WhyLen, "the image hash cannot be computed: %s", reason);
        goto out;
    }
    if (actualLen != sig.DigestLen || memcmp(actual, sig.Digest, actualLen) != 0) {
        status = CipRefuse(Why, WhyLen,
                           "the image hash does not match its signature: the file was changed "
                           "after signing (signed by %s)",
                           Result->Subject);
        goto out;
    }
    Result->HashMatches = true;

    content = BIO_new_mem_buf(sig.Content, (int)sig.ContentLen);
    if (!content ||
        PKCS7_verify(sig.P7, NULL, NULL, content, NULL, PKCS7_NOVERIFY | PKCS7_BINARY) != 1) {
        unsigned long err = ERR_peek_last_error();
        status = CipRefuse(Why, WhyLen,
                           "the signature by %s does not verify: the signed content or the "
                           "signature was altered (%s)",
                           Result->Subject, CipErrorReason(err));
        goto out;
    }
    Result->SignatureValid = true;

    uint32_t eku = X509_get_extension_flags(sig.Signer) & EXFLAG_XKUSAGE
                       ? X509_get_extended_key_usage(sig.Signer)
                       : UINT32_MAX;
    if (!(eku & XKU_CODE_SIGN)) {
        status = CipRefuse(Why, WhyLen,
                           "the certificate of %s is not for code signing: its "
                           "extendedKeyUsage lacks codeSigning (1.3.6.1.5.5.7.3.3)",
                           Result->Subject);
        goto out;
    }
    Result->ChainTrusted =
        CipChainsToRoot(&sig, Policy->TrustedDir, Result->RootsFingerprint, reason, sizeof(reason));
    Result->RootsChecked = true;
    if (Result->ChainTrusted || Policy->TestSigning) {
        status = STATUS_SUCCESS;
        if (Why && WhyLen)
            Why[0] = 0;
        goto out;
    }
    status = CipRefuse(Why, WhyLen,
                       "signed by %s (issuer %s), which does not chain to a trusted root (%s)",
                       Result->Subject, Result->Issuer, reason);
out:
    ERR_clear_error();
    BIO_free(content);
    PKCS7_free(sig.P7);
    free(layout);
    return status;
}
