// @peculiar/x509, loaded on first use: it is the heaviest module on the boot path (≈ 150 ms to
// import here) and only minting needs it, so `serve` becomes ready without it and warms it after.
import { webcrypto } from 'node:crypto';
import type * as X509Module from '@peculiar/x509';

type X509 = typeof X509Module;
let loading: Promise<X509> | undefined;

export function loadX509(): Promise<X509> {
  loading ??= import('@peculiar/x509').then((x509) => {
    x509.cryptoProvider.set(webcrypto as never);
    return x509;
  });
  return loading;
}
