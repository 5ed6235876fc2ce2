/** Longest peer-supplied string put in a log line or a reason; the rest is cut with a marker. */
const MAX_PEER_STRING = 256;

/**
 * A peer-supplied string cut to a length fit for a log line or a refusal
 * reason. Control characters are not touched here: the logger escapes every
 * string it writes, so a user name or hostname cannot forge or split lines.
 */
export function clipped(value: string | undefined, max = MAX_PEER_STRING): string {
  if (value === undefined) return '';
  return value.length > max ? `${value.slice(0, max)}…(${value.length - max} more)` : value;
}

/** Enough of a run id to tell clients apart in logs and the dashboard, not enough to act as one. */
export function shortRunId(runId: string): string {
  return runId.length <= 8 ? runId : `${runId.slice(0, 8)}…`;
}
