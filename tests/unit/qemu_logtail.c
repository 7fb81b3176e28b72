/* Unit tests: the tail of QEMU's log that an error line quotes (qemu/proc.h qemu_log_tail). */
#include "test.h"

#include "core/util.h"
#include "qemu/proc.h"

static char *tail_of(const char *text, unsigned lines) {
        _cleanup_free_ char *copy = strdup(text);
        assert_non_null(copy);
        char *t = qemu_log_tail(copy, lines);
        assert_non_null(t);
        return t;
}

/* What QEMU 7.2 printed at the start of a hardware profile's machine under TCG (e2e
 * cloak_identity), then the line that says why it ended: the warnings do not hide it. */
static void test_tcg_feature_warnings_left_out(void **state) {
        (void)state;
        static const char log[] =
                "qemu-system-x86_64: warning: TCG doesn't support requested feature: CPUID.01H:ECX.pcid [bit 17]\n"
                "qemu-system-x86_64: warning: TCG doesn't support requested feature: CPUID.01H:ECX.x2apic [bit 21]\n"
                "qemu-system-x86_64: warning: TCG doesn't support requested feature: CPUID.07H:EBX.hle [bit 4]\n"
                "qemu-system-x86_64: -drive file=/x.qcow2: Could not open '/x.qcow2': No such file or directory\n";
        _cleanup_free_ char *t = tail_of(log, 3);
        assert_string_equal(t, "qemu-system-x86_64: -drive file=/x.qcow2: Could not open '/x.qcow2': No such file "
                               "or directory");
        /* Only warnings: nothing to quote (the caller says "nothing in its log"). */
        _cleanup_free_ char *w = tail_of("qemu-system-x86_64: warning: TCG doesn't support requested feature: "
                                         "CPUID.0DH:EAX.xsavec [bit 1]\n", 3);
        assert_string_equal(w, "");
}

static void test_last_lines(void **state) {
        (void)state;
        _cleanup_free_ char *t = tail_of("one\r\n\ntwo\nqemu-system-x86_64: warning: host doesn't support x\nthree\n", 2);
        assert_string_equal(t, "qemu-system-x86_64: warning: host doesn't support x / three");
        _cleanup_free_ char *e = tail_of("", 3);
        assert_string_equal(e, "");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_tcg_feature_warnings_left_out),
                cmocka_unit_test(test_last_lines),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
