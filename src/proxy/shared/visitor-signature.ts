import { BurrowError } from '../../util/errors.js';

/**
 * How far a visitor's timestamp may be from the server's clock. frp checks
 * none, so a NewVisitorConn captured once (it is plaintext when TLS is off)
 * opens the proxy forever; burrow bounds that replay window. 15 minutes
 * tolerates clocks that drift without NTP.
 */
export const VISITOR_MAX_CLOCK_SKEW_S = 15 * 60;

/**
 * The signature md5(sk + timestamp), then the clock: shared by stcp/sudp
 * visitor connections and xtcp NatHoleVisitor. Throws BURROW_AUTH_FAILED or
 * BURROW_VISITOR_CLOCK_SKEW.
 */
export function checkVisitorSignature(
  name: string,
  proxy: { signatureMatches(timestamp: number, signKey: string): boolean },
  timestamp: number,
  signKey: string,
  nowSeconds: number,
): void {
  if (!proxy.signatureMatches(timestamp, signKey)) {
    throw new BurrowError('BURROW_AUTH_FAILED', `visitor connection of [${name}] auth failed: the secret key does not match`);
  }
  const skew = Math.abs(nowSeconds - timestamp);
  if (skew > VISITOR_MAX_CLOCK_SKEW_S) {
    throw new BurrowError(
      'BURROW_VISITOR_CLOCK_SKEW',
      `visitor connection of [${name}] refused: its timestamp is ${skew} s away from the server clock (at most ${VISITOR_MAX_CLOCK_SKEW_S} s)`,
    );
  }
}
