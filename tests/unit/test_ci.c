/*
 * Code integrity on real signed images. At run time the test builds a small
 * driver with x86_64-w64-mingw32-gcc (with -g, so that a COFF symbol table
 * follows the last section), makes the test certificates with
 * scripts/make-test-cert.sh and signs the driver with osslsigncode, an
 * implementation of Authenticode independent of ours: accepting its
 * signatures proves our image hash is the one the specification defines.
 *
 * Expectations (Windows Authenticode PE specification, 64-bit Windows
 * driver signing policy): unsigned and tampered images are refused with
 * STATUS_INVALID_IMAGE_HASH; CheckSum is outside the hash; a test-signed
 * image loads only under test signing; an image signed by a certificate
 * issued by a trusted root loads; malformed certificate tables are refused,
 * never crash. The roots are the *.pem, *.crt and *.cer files of the
 * folder; the fingerprint a verdict records (for the cache of checked
 * images) is the one of the roots it was checked against.
 */
#include "ci/ci.h"
#include "ci/cip.h"
#include "cm/cm.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int failures;
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            failures++;                                                                            \
            fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond);               \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

static char work[4096], root[4096];

typedef struct BLOB {
    uint8_t *Data;
    size_t Size;
} BLOB;

static int run(const char *Format, ...)
{
    char cmd[16384];
    va_list args;
    va_start(args, Format);
    vsnprintf(cmd, sizeof(cmd), Format, args);
    va_end(args);
    int rc = system(cmd);
    if (rc != 0)
        fprintf(stderr, "command failed (%d): %s\n", rc, cmd);
    return rc;
}

static BLOB load(const char *Name)
{
    char path[8192];
    BLOB b = {0};
    snprintf(path, sizeof(path), "%s/%s", work, Name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    b.Size = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    b.Data = malloc(b.Size);
    if (!b.Data || fread(b.Data, 1, b.Size, f) != b.Size)
        exit(1);
    fclose(f);
    return b;
}

static BLOB copy(BLOB In)
{
    BLOB b = {malloc(In.Size ? In.Size : 1), In.Size};
    memcpy(b.Data, In.Data, In.Size);
    return b;
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* PE32+ field offsets (PE Format specification). */
static size_t opt_header(const BLOB *b)
{
    return rd32(b->Data + 0x3c) + 24;
}
static size_t checksum_off(const BLOB *b)
{
    return opt_header(b) + 64;
}
static size_t security_entry(const BLOB *b)
{
    return opt_header(b) + 112 + 4 * 8;
}
static uint32_t cert_offset(const BLOB *b)
{
    return rd32(b->Data + security_entry(b));
}
static uint32_t cert_size(const BLOB *b)
{
    return rd32(b->Data + security_entry(b) + 4);
}

/* File offset and size of the named section's raw data. */
static bool section(const BLOB *b, const char *Name, uint32_t *Offset, uint32_t *Size)
{
    size_t nt = rd32(b->Data + 0x3c);
    unsigned count = b->Data[nt + 6] | b->Data[nt + 7] << 8;
    size_t table = opt_header(b) + (b->Data[nt + 20] | b->Data[nt + 21] << 8);
    for (unsigned i = 0; i < count; i++) {
        const uint8_t *s = b->Data + table + 40 * i;
        if (strncmp((const char *)s, Name, 8) == 0) {
            *Size = rd32(s + 16);
            *Offset = rd32(s + 20);
            return true;
        }
    }
    return false;
}

static uint32_t sections_end(const BLOB *b)
{
    size_t nt = rd32(b->Data + 0x3c);
    unsigned count = b->Data[nt + 6] | b->Data[nt + 7] << 8;
    size_t table = opt_header(b) + (b->Data[nt + 20] | b->Data[nt + 21] << 8);
    uint32_t end = 0;
    for (unsigned i = 0; i < count; i++) {
        const uint8_t *s = b->Data + table + 40 * i;
        if (rd32(s + 16) && rd32(s + 20) + rd32(s + 16) > end)
            end = rd32(s + 20) + rd32(s + 16);
    }
    return end;
}

static char why[4096];
static CI_RESULT res;

static NTSTATUS verify(BLOB b, bool TestSigning, bool Trusted)
{
    char dir[8192];
    snprintf(dir, sizeof(dir), "%s/trusted", work);
    CI_POLICY policy = {.TestSigning = TestSigning, .TrustedDir = Trusted ? dir : NULL};
    why[0] = 0;
    return CiVerifyImage(b.Data, b.Size, &policy, &res, why, sizeof(why));
}

/* Every refusal tells how to sign and how to change the policy. */
static void check_refused(NTSTATUS St, const char *Reason, int Line)
{
    if (St != STATUS_INVALID_IMAGE_HASH || !strstr(why, Reason) ||
        !strstr(why, "osslsigncode sign -certs") || !strstr(why, "TESTSIGNING ON") ||
        !strstr(why, "certutil -addstore root")) {
        failures++;
        fprintf(stderr,
                "line %d: want STATUS_INVALID_IMAGE_HASH with \"%s\" and the remedy, "
                "got 0x%08x \"%s\"\n",
                Line, Reason, (unsigned)St, why);
    }
}
#define REFUSED(st, reason) check_refused((st), (reason), __LINE__)

static void setup(void)
{
    const char *me = __FILE__;
    const char *tail = strstr(me, "/tests/unit/test_ci.c");
    if (!tail || me[0] != '/') {
        fprintf(stderr, "cannot find the source tree from %s\n", me);
        exit(1);
    }
    snprintf(root, sizeof(root), "%.*s", (int)(tail - me), me);
    snprintf(work, sizeof(work), "%s/ci_test.XXXXXX", P_tmpdir);
    if (!mkdtemp(work)) {
        perror("mkdtemp");
        exit(1);
    }
    char src[8192];
    snprintf(src, sizeof(src), "%s/drv.c", work);
    FILE *f = fopen(src, "w");
    fputs("#include <ntddk.h>\n"
          "static VOID NTAPI Unload(PDRIVER_OBJECT d) { (void)d; }\n"
          "NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT d, PUNICODE_STRING r)\n"
          "{ (void)r; d->DriverUnload = Unload; DbgPrint(\"signed\\n\"); return 0; }\n",
          f);
    fclose(f);
    int rc = run("x86_64-w64-mingw32-gcc -g -O2 -ffreestanding -fno-stack-protector "
                 "-fno-builtin -mno-red-zone -I/usr/x86_64-w64-mingw32/include/ddk "
                 "'%s/drv.c' -o '%s/unsigned.sys' -nostdlib -nostartfiles "
                 "-Wl,--subsystem,native -Wl,--entry,DriverEntry "
                 "-Wl,--image-base,0x140000000 -lntoskrnl -lhal -lgcc",
                 work, work);
    rc = rc || run("sh '%s/scripts/make-test-cert.sh' '%s/certs'", root, work);
    const char *sign = "osslsigncode sign -h %s -certs '%s/certs/%s-cert.pem' -key "
                       "'%s/certs/%s-key.pem' -in '%s/unsigned.sys' -out '%s/%s' >/dev/null";
    rc = rc || run(sign, "sha256", work, "test", work, "test", work, work, "test.sys");
    rc = rc || run(sign, "sha1", work, "test", work, "test", work, work, "test-sha1.sys");
    rc = rc || run(sign, "sha256", work, "leaf", work, "leaf", work, work, "leaf.sys");
    rc = rc || run("mkdir -p '%s/trusted' && cp '%s/certs/root-cert.pem' '%s/trusted/'", work, work,
                   work);
    if (rc) {
        fprintf(stderr, "test setup failed: mingw-w64, openssl and osslsigncode are needed\n");
        exit(1);
    }
}

static void test_policy_matrix(void)
{
    BLOB unsignedImg = load("unsigned.sys"), test = load("test.sys"), leaf = load("leaf.sys");
    BLOB sha1 = load("test-sha1.sys");

    REFUSED(verify(unsignedImg, true, true), "the image is not signed");
    CHECK(!res.Signed, "unsigned reported as signed");

    REFUSED(verify(test, false, true), "does not chain to a trusted root");
    CHECK(strstr(why, "signed by CN=kmhost Test Signing Certificate"), "%s", why);
    CHECK(res.Signed && res.HashMatches && res.SignatureValid && !res.ChainTrusted,
          "flags %d %d %d %d", res.Signed, res.HashMatches, res.SignatureValid, res.ChainTrusted);

    NTSTATUS st = verify(test, true, true);
    CHECK(st == STATUS_SUCCESS, "test-signed under TESTSIGNING: 0x%08x %s", (unsigned)st, why);
    CHECK(!strcmp(res.Subject, "CN=kmhost Test Signing Certificate"), "subject %s", res.Subject);
    CHECK(!strcmp(res.Issuer, "CN=kmhost Test Signing Certificate"), "issuer %s", res.Issuer);
    CHECK(!strcmp(res.DigestAlgorithm, "SHA256"), "alg %s", res.DigestAlgorithm);

    st = verify(sha1, true, false);
    CHECK(st == STATUS_SUCCESS, "SHA-1 signed: 0x%08x %s", (unsigned)st, why);
    CHECK(!strcmp(res.DigestAlgorithm, "SHA1"), "alg %s", res.DigestAlgorithm);

    st = verify(leaf, false, true);
    CHECK(st == STATUS_SUCCESS, "trusted-root signed: 0x%08x %s", (unsigned)st, why);
    CHECK(res.ChainTrusted, "chain not trusted");
    CHECK(!strcmp(res.Subject, "CN=kmhost Test Driver Publisher"), "subject %s", res.Subject);
    CHECK(!strcmp(res.Issuer, "CN=kmhost Test Root CA"), "issuer %s", res.Issuer);

    /* The same image without the root in the store: nothing else made it pass. */
    REFUSED(verify(leaf, false, false), "does not chain to a trusted root");
    CHECK(strstr(why, "issuer CN=kmhost Test Root CA"), "%s", why);

    free(unsignedImg.Data);
    free(test.Data);
    free(leaf.Data);
    free(sha1.Data);
}

static void test_tampering(void)
{
    BLOB test = load("test.sys");
    uint32_t off = 0, size = 0;
    CHECK(section(&test, ".text", &off, &size) && size > 16, "no .text");

    BLOB b = copy(test);
    b.Data[off + size / 2] ^= 0x01;
    REFUSED(verify(b, true, true), "the image hash does not match its signature: the file "
                                   "was changed after signing");
    CHECK(res.Signed && !res.HashMatches, "flags");
    free(b.Data);

    /* CheckSum is not part of the Authenticode hash: changing it keeps the
       signature valid. */
    b = copy(test);
    b.Data[checksum_off(&b)] ^= 0xff;
    NTSTATUS st = verify(b, true, true);
    CHECK(st == STATUS_SUCCESS, "changed CheckSum refused: %s", why);
    free(b.Data);

    /* The data after the last section (the COFF symbol table) is hashed. */
    b = copy(test);
    uint32_t end = sections_end(&b);
    CHECK(end + 16 < cert_offset(&b), "no data after the last section (%u, %u)", end,
          cert_offset(&b));
    b.Data[end + 4] ^= 0x01;
    REFUSED(verify(b, true, true), "does not match its signature");
    free(b.Data);

    /* A header byte other than CheckSum and the security entry is hashed. */
    b = copy(test);
    b.Data[opt_header(&b) + 2] ^= 0x01; /* MajorLinkerVersion */
    REFUSED(verify(b, true, true), "does not match its signature");
    free(b.Data);

    /* The signer's signature itself: the last bytes of the DER are the
       SignerInfo's encryptedDigest (osslsigncode adds no unsigned attributes
       without a timestamp). */
    b = copy(test);
    uint32_t derEnd = cert_offset(&b) + rd32(b.Data + cert_offset(&b));
    b.Data[derEnd - 10] ^= 0x01;
    REFUSED(verify(b, true, true), "does not verify");
    free(b.Data);

    /* Data appended after the certificate table is outside the hash. */
    b = copy(test);
    b.Data = realloc(b.Data, b.Size + 8);
    memset(b.Data + b.Size, 0xcc, 8);
    b.Size += 8;
    REFUSED(verify(b, true, true), "data follows the certificate table");
    free(b.Data);
    free(test.Data);
}

static void test_bad_tables(void)
{
    BLOB test = load("test.sys");
    uint32_t co = cert_offset(&test), cs = cert_size(&test);
    CHECK(co && cs > 8 && co + cs == test.Size, "table %u+%u of %zu", co, cs, test.Size);

    /* The file cut inside the certificate table. */
    BLOB b = copy(test);
    b.Size -= cs / 2;
    REFUSED(verify(b, true, true), "the certificate table lies beyond the end of the file");
    free(b.Data);

    /* Table shorter than a WIN_CERTIFICATE header. */
    b = copy(test);
    wr32(b.Data + security_entry(&b) + 4, 4);
    b.Size = co + 4;
    REFUSED(verify(b, true, true), "the certificate table is truncated");
    free(b.Data);

    /* dwLength larger than the table. */
    b = copy(test);
    wr32(b.Data + co, cs + 8);
    REFUSED(verify(b, true, true), "dwLength");
    free(b.Data);

    /* The table's size cut to half: the DER no longer fits in dwLength. */
    b = copy(test);
    wr32(b.Data + security_entry(&b) + 4, (cs / 2) & ~7u);
    b.Size = co + ((cs / 2) & ~7u);
    REFUSED(verify(b, true, true), "dwLength");
    free(b.Data);

    /* A PKCS#7 cut short inside its own dwLength. */
    b = copy(test);
    wr32(b.Data + co, rd32(b.Data + co) - 100);
    REFUSED(verify(b, true, true), "not a valid PKCS#7");
    free(b.Data);

    /* Garbage where the PKCS#7 should be. */
    b = copy(test);
    memset(b.Data + co + 8, 0x41, rd32(b.Data + co) - 8);
    REFUSED(verify(b, true, true), "not a valid PKCS#7");
    free(b.Data);

    /* Wrong WIN_CERTIFICATE revision: no usable signature. */
    b = copy(test);
    b.Data[co + 5] = 0x01;
    REFUSED(verify(b, true, true), "holds no Authenticode signature");
    free(b.Data);

    /* Table offset past the end of the file. */
    b = copy(test);
    wr32(b.Data + security_entry(&b), (uint32_t)b.Size + 16);
    REFUSED(verify(b, true, true), "beyond the end of the file");
    free(b.Data);

    /* Offset + size wrapping 32 bits. */
    b = copy(test);
    wr32(b.Data + security_entry(&b), 0xfffffff8u);
    wr32(b.Data + security_entry(&b) + 4, 0x10);
    REFUSED(verify(b, true, true), "beyond the end of the file");
    free(b.Data);

    /* Not a PE at all, and an empty file. */
    uint8_t junk[128] = "not a driver";
    BLOB j = {junk, sizeof(junk)};
    REFUSED(verify(j, true, true), "not a PE image");
    j.Size = 0;
    REFUSED(verify(j, true, true), "not a PE image");

    CI_RESULT r;
    CI_POLICY p = {0};
    CHECK(CiVerifyImage(NULL, 0, &p, &r, why, sizeof(why)) == STATUS_INVALID_PARAMETER,
          "NULL file");
    free(test.Data);
}

/* Every prefix of a signed image, and random byte changes in its headers and
   certificate table: never a crash (ASan/UBSan watch), never accepted. */
static void test_fuzz(void)
{
    BLOB test = load("test.sys");
    for (size_t n = 0; n < test.Size; n += (n < 1024 || n > test.Size - 2048) ? 1 : 97) {
        BLOB b = {malloc(n ? n : 1), n};
        memcpy(b.Data, test.Data, n);
        NTSTATUS st = verify(b, true, true);
        CHECK(st == STATUS_INVALID_IMAGE_HASH, "prefix %zu: 0x%08x", n, (unsigned)st);
        free(b.Data);
    }
    srand(12345);
    uint32_t co = cert_offset(&test);
    for (int i = 0; i < 3000; i++) {
        BLOB b = copy(test);
        for (int k = 0; k < 1 + rand() % 4; k++) {
            size_t at = i % 2 ? (size_t)rand() % 1024 : co + (size_t)rand() % (b.Size - co);
            b.Data[at] = (uint8_t)rand();
        }
        NTSTATUS st = verify(b, i % 3 == 0, true);
        CHECK(st == STATUS_SUCCESS || st == STATUS_INVALID_IMAGE_HASH, "mutant %d: 0x%08x", i,
              (unsigned)st);
        free(b.Data);
    }
    free(test.Data);
}

/* The loader's gate: settings from the store, roots from the home. */
static void test_check_driver_image(void)
{
    char home[8192], path[8192];
    bool testMode = true;
    snprintf(home, sizeof(home), "%s/home", work);
    mkdir(home, 0700);
    CmSetHome(home);

    snprintf(path, sizeof(path), "%s/unsigned.sys", work);
    NTSTATUS st = CiCheckDriverImage(path, NULL, NULL, why, sizeof(why), &testMode);
    REFUSED(st, "not signed");
    CHECK(!testMode, "test mode without TESTSIGNING");

    snprintf(path, sizeof(path), "%s/test.sys", work);
    REFUSED(CiCheckDriverImage(path, NULL, NULL, why, sizeof(why), &testMode), "trusted root");
    CHECK(NT_SUCCESS(CmSetBootSetting(CI_SETTING_TESTSIGNING, "Yes")), "set testsigning");
    st = CiCheckDriverImage(path, NULL, NULL, why, sizeof(why), &testMode);
    CHECK(st == STATUS_SUCCESS && testMode, "TESTSIGNING Yes: 0x%08x %s", (unsigned)st, why);
    CHECK(NT_SUCCESS(CmSetBootSetting(CI_SETTING_TESTSIGNING, "No")), "clear testsigning");
    REFUSED(CiCheckDriverImage(path, NULL, NULL, why, sizeof(why), &testMode), "trusted root");

    snprintf(path, sizeof(path), "%s/leaf.sys", work);
    REFUSED(CiCheckDriverImage(path, NULL, NULL, why, sizeof(why), &testMode), "trusted root");
    CHECK(run("mkdir -p '%s/trusted' && cp '%s/certs/root-cert.pem' '%s/trusted/'", home, work,
              home) == 0,
          "copy root");
    st = CiCheckDriverImage(path, NULL, NULL, why, sizeof(why), &testMode);
    CHECK(st == STATUS_SUCCESS, "root in home/trusted: 0x%08x %s", (unsigned)st, why);

    snprintf(path, sizeof(path), "%s/unsigned.sys", work);
    CHECK(NT_SUCCESS(CmSetBootSetting(CI_SETTING_NOINTEGRITYCHECKS, "Yes")), "set nointegrity");
    st = CiCheckDriverImage(path, NULL, NULL, why, sizeof(why), &testMode);
    CHECK(st == STATUS_SUCCESS, "NOINTEGRITYCHECKS Yes: 0x%08x %s", (unsigned)st, why);
    CHECK(NT_SUCCESS(CmSetBootSetting(CI_SETTING_NOINTEGRITYCHECKS, NULL)), "delete");
    REFUSED(CiCheckDriverImage(path, NULL, NULL, why, sizeof(why), &testMode), "not signed");

    snprintf(path, sizeof(path), "%s/missing.sys", work);
    st = CiCheckDriverImage(path, NULL, NULL, why, sizeof(why), &testMode);
    CHECK(st == STATUS_OBJECT_NAME_NOT_FOUND, "missing file: 0x%08x", (unsigned)st);
}

/* The roots folder's reader, shared by the chain check and the cache: the
   root files in name order (dot names included), anything else skipped
   without harm; the fingerprint follows names and contents, and is the one
   a verdict records. */
static void test_roots(void)
{
    char dir[8192];
    snprintf(dir, sizeof(dir), "%s/roots", work);
    CHECK(run("mkdir -p '%s/sub.pem' && printf b >'%s/b.pem' && printf a >'%s/A.CRT' && "
              "printf h >'%s/.h.cer' && printf x >'%s/x.txt' && mkfifo '%s/fifo.cer' && "
              "head -c 9437184 /dev/zero >'%s/huge.pem'",
              dir, dir, dir, dir, dir, dir, dir) == 0,
          "make the roots folder");
    CIP_ROOT_FILE *files;
    uint8_t fp[CIP_DIGEST_SIZE], again[CIP_DIGEST_SIZE], empty[CIP_DIGEST_SIZE],
        missing[CIP_DIGEST_SIZE];
    size_t n = CipReadRoots(dir, &files, fp);
    CHECK(n == 3, "%zu root files, want 3", n);
    const char *names[] = {".h.cer", "A.CRT", "b.pem"}, *data = "hab";
    for (size_t i = 0; i < n && i < 3; i++)
        CHECK(!strcmp(files[i].Name, names[i]) && files[i].Size == 1 && files[i].Data[0] == data[i],
              "root %zu: %s", i, files[i].Name);
    CipFreeRoots(files, n);

    CipRootsFingerprint(dir, again);
    CHECK(!memcmp(fp, again, sizeof(fp)), "the same folder, another fingerprint");
    run("printf c >'%s/b.pem'", dir);
    CipRootsFingerprint(dir, again);
    CHECK(memcmp(fp, again, sizeof(fp)), "a root's content changed, the same fingerprint");
    run("printf b >'%s/b.pem' && mv '%s/b.pem' '%s/c.pem'", dir, dir, dir);
    CipRootsFingerprint(dir, again);
    CHECK(memcmp(fp, again, sizeof(fp)), "a root renamed, the same fingerprint");

    run("mkdir -p '%s/empty'", work);
    snprintf(dir, sizeof(dir), "%s/empty", work);
    CipRootsFingerprint(dir, empty);
    snprintf(dir, sizeof(dir), "%s/no-such-folder", work);
    CipRootsFingerprint(dir, missing);
    CHECK(!memcmp(empty, missing, sizeof(empty)), "no roots: one fingerprint");

    /* The verdict's fingerprint is that of the roots it used. */
    BLOB leaf = load("leaf.sys");
    NTSTATUS st = verify(leaf, false, true);
    snprintf(dir, sizeof(dir), "%s/trusted", work);
    CipRootsFingerprint(dir, fp);
    CHECK(st == STATUS_SUCCESS && res.ChainTrusted && res.RootsChecked &&
              !memcmp(res.RootsFingerprint, fp, sizeof(fp)),
          "leaf: 0x%08x trusted %d checked %d", (unsigned)st, res.ChainTrusted, res.RootsChecked);
    free(leaf.Data);
}

int main(void)
{
    setup();
    test_roots();
    test_policy_matrix();
    test_tampering();
    test_bad_tables();
    test_fuzz();
    test_check_driver_image();
    if (failures == 0)
        run("rm -rf '%s'", work);
    else
        fprintf(stderr, "files kept in %s\n", work);
    printf("%s: %d failure(s)\n", __FILE__, failures);
    return failures != 0;
}
