/**
 * KCP's retransmission timeout: smoothed RTT and its variance from the ts
 * echoed in acks (ikcp's estimator, close to RFC 6298), bounded below by
 * 30 ms in nodelay mode (100 ms otherwise) and above by 60 s.
 */

const RTO_NODELAY_MIN = 30;
const RTO_MIN = 100;
const RTO_DEFAULT = 200;
const RTO_MAX = 60_000;

export class RtoEstimator {
  rto = RTO_DEFAULT;
  private srtt = 0;
  private rttvar = 0;
  private readonly minRto: number;

  constructor(
    noDelay: boolean,
    private readonly intervalMs: number,
  ) {
    this.minRto = noDelay ? RTO_NODELAY_MIN : RTO_MIN;
  }

  sample(rtt: number): void {
    if (this.srtt === 0) {
      this.srtt = rtt;
      this.rttvar = rtt >> 1;
    } else {
      const delta = rtt - this.srtt;
      this.srtt += delta >> 3;
      const abs = Math.abs(delta);
      if (rtt < this.srtt - this.rttvar) this.rttvar += (abs - this.rttvar) >> 5;
      else this.rttvar += (abs - this.rttvar) >> 2;
    }
    const rto = this.srtt + Math.max(this.intervalMs, this.rttvar << 2);
    this.rto = Math.min(RTO_MAX, Math.max(this.minRto, rto));
  }
}
