/** Days of per-proxy traffic kept, as frp: index 0 is today. */
export const TRAFFIC_DAYS = 7;

/** The local calendar day of `ms`, as a day number: buckets roll over at local midnight, as frp's. */
export function localDay(ms: number): number {
  return Math.floor((ms - new Date(ms).getTimezoneOffset() * 60_000) / 86_400_000);
}

/** Byte counts for the last TRAFFIC_DAYS days; a day with no traffic stays 0. */
export class DailyCounter {
  private readonly days: number[] = new Array<number>(TRAFFIC_DAYS).fill(0);

  constructor(private latestDay: number) {}

  add(n: number, day: number): void {
    this.roll(day);
    // A clock that went back books on the newest day rather than rewriting history.
    this.days[0]! += n;
  }

  today(day: number): number {
    this.roll(day);
    return this.days[0]!;
  }

  lastDays(day: number): number[] {
    this.roll(day);
    return [...this.days];
  }

  private roll(day: number): void {
    const shift = day - this.latestDay;
    if (shift <= 0) return;
    if (shift >= TRAFFIC_DAYS) this.days.fill(0);
    else {
      this.days.unshift(...new Array<number>(shift).fill(0));
      this.days.length = TRAFFIC_DAYS;
    }
    this.latestDay = day;
  }
}
