/* Shared constants between libtsdocker.so, tsdocker-monitor and src/native (keep in sync:
   src/native/index.ts refuses, when it loads the library, a TSD_PROTO_VERSION other than
   its PROTO_VERSION). */
#ifndef TSD_H
#define TSD_H
#define TSD_PROTO_VERSION 1
#endif
