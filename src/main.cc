// infergate: an ML inference server for IoT. See README.md.
#include "server/cli.h"

int main(int argc, char** argv) { return infergate::server::Main(argc, argv); }
