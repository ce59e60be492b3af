#include "cli.h"

int main(int argc, char** argv) { return infergate::bench::Main(argc, argv); }
