// `flashstock serve`: flags -> Engine + Server. See docs/server.md.
#ifndef FLASHSTOCK_TOOLS_SERVER_SERVE_MAIN_H_
#define FLASHSTOCK_TOOLS_SERVER_SERVE_MAIN_H_

namespace flashstock::server {

// argv holds the options after "serve". Returns the process exit status.
int ServeMain(int argc, char** argv);

}  // namespace flashstock::server

#endif  // FLASHSTOCK_TOOLS_SERVER_SERVE_MAIN_H_
