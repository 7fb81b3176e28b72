/* Test driver for the Windows config disc's end-to-end test: builds the tree or the ISO through
 * the library from fixed answer-file parameters and the network/agent values given. */
#include <stdio.h>
#include <stdlib.h>

#include "core/log.h"
#include "core/util.h"
#include "guest/winconfig.h"

int main(int argc, char **argv) {
        if (argc != 10 || (!streq(argv[1], "iso") && !streq(argv[1], "dir"))) {
                fprintf(stderr, "usage: winconfig-drive iso|dir OUT OS MAC IP PREFIX GATEWAY PORT AGENT_NAME\n");
                return 2;
        }
        struct win_config c = {
                .unattend = {
                        .os = argv[3], .arch = "amd64", .uefi = streq(argv[3], "win11x64"), .image_index = 1,
                        .user = "Administrator", .password = "cuckoo", .oobe_account = "sandbox",
                        .computer_name = "DESKTOP-E2ETEST", .ui_language = "en-US", .input_locale = "en-US",
                        .timezone = "UTC", .width = 1024, .height = 768,
                },
                .mac = argv[4], .ip = argv[5], .prefix = (unsigned)atoi(argv[6]), .gateway = argv[7],
                .dns = "127.0.0.53", .dns2 = "127.0.0.54", .agent_port = (uint16_t)atoi(argv[8]),
                .agent_name = argv[9], .run_name = "VmcloakE2eAgent",
                .agent_exe = getenv("WINCONFIG_AGENT_EXE"),   /* a missing one: the failure part-way */
        };
        int k = streq(argv[1], "iso") ? win_config_iso_build(argv[2], &c) : win_config_write_dir(argv[2], &c);
        return k < 0 ? 1 : 0;
}
