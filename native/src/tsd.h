/* Shared constants between libtsdocker.so, tsdocker-monitor and src/native (keep in sync:
   test/unit/native-proto.test.ts compares TSD_PROTO_VERSION with src/native/index.ts). */
#ifndef TSD_H
#define TSD_H
#define TSD_PROTO_VERSION 1
#endif
