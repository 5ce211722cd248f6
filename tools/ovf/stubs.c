#include "common/cli.h"
#include "ovf/ovf.h"
int ovf_cmd_pack(int argc, char **argv) { return cli_error(1, "not yet"); }
int ovf_cmd_unpack(int argc, char **argv) { return cli_error(1, "not yet"); }
int ovf_cmd_sign(int argc, char **argv) { return cli_error(1, "not yet"); }
int ovf_cmd_verify(int argc, char **argv) { return cli_error(1, "not yet"); }
int ovf_cmd_env(int argc, char **argv) { return cli_error(1, "not yet"); }
int ovf_cmd_convert(int argc, char **argv) { return cli_error(1, "not yet"); }
