/* Unit tests: QEMU qcodes as Linux keycodes for virDomainSendKey (libvirt/keymap.h). */
#include "test.h"

#include <errno.h>
#include <linux/input-event-codes.h>

#include "libvirt/keymap.h"

/* The keys the pipeline sends (pipeline/flow.c: "ret") and the usual chords. */
static void test_pipeline_keys(void **state) {
        (void)state;
        assert_int_equal(libvirt_qcode_to_linux("ret"), KEY_ENTER);
        assert_int_equal(libvirt_qcode_to_linux("ctrl"), KEY_LEFTCTRL);
        assert_int_equal(libvirt_qcode_to_linux("alt"), KEY_LEFTALT);
        assert_int_equal(libvirt_qcode_to_linux("delete"), KEY_DELETE);
        assert_int_equal(libvirt_qcode_to_linux("f1"), KEY_F1);
        assert_int_equal(libvirt_qcode_to_linux("f12"), KEY_F12);
        assert_int_equal(libvirt_qcode_to_linux("spc"), KEY_SPACE);
        assert_int_equal(libvirt_qcode_to_linux("kp_enter"), KEY_KPENTER);
        assert_int_equal(libvirt_qcode_to_linux("meta_l"), KEY_LEFTMETA);
}

/* Letters and digits by the PC layout's rows, not alphabetically (KEY_A is 30, KEY_B 48). */
static void test_letters_digits(void **state) {
        (void)state;
        static const int letters[26] = { KEY_A, KEY_B, KEY_C, KEY_D, KEY_E, KEY_F, KEY_G, KEY_H, KEY_I,
                                         KEY_J, KEY_K, KEY_L, KEY_M, KEY_N, KEY_O, KEY_P, KEY_Q, KEY_R,
                                         KEY_S, KEY_T, KEY_U, KEY_V, KEY_W, KEY_X, KEY_Y, KEY_Z };
        for (int i = 0; i < 26; i++) {
                char q[2] = { (char)('a' + i), 0 };
                assert_int_equal(libvirt_qcode_to_linux(q), letters[i]);
        }
        assert_int_equal(libvirt_qcode_to_linux("1"), KEY_1);
        assert_int_equal(libvirt_qcode_to_linux("0"), KEY_0);
}

static void test_unknown(void **state) {
        (void)state;
        assert_int_equal(libvirt_qcode_to_linux("nosuchkey"), -ENOENT);
        assert_int_equal(libvirt_qcode_to_linux("RET"), -ENOENT);   /* qcodes are lower case */
        assert_int_equal(libvirt_qcode_to_linux(""), -ENOENT);
        assert_int_equal(libvirt_qcode_to_linux(NULL), -ENOENT);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_pipeline_keys),
                cmocka_unit_test(test_letters_digits),
                cmocka_unit_test(test_unknown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
