/**
 * Geometry for the health graphs: samples → SVG polyline points. Pure, so it is unit-tested and
 * the component only draws.
 */

export interface Frame {
  /** Drawing size in SVG user units (the viewBox). */
  width: number;
  height: number;
  /** Time span shown, in seconds: [tMin, tMin + windowSeconds]. */
  tMin: number;
  windowSeconds: number;
  /** Value at the top edge (the bottom is 0). */
  vMax: number;
}

/**
 * The window that ends at the newest sample, or starts at 0 while the broadcast is younger than
 * the window (so the graph fills from the left rather than stretching a few points across).
 */
export function timeWindow(t: readonly number[], windowSeconds: number): { tMin: number; windowSeconds: number } {
  const last = t.length > 0 ? t[t.length - 1]! : 0;
  return { tMin: Math.max(0, last - windowSeconds), windowSeconds };
}

/** A round top for the value axis: at least `floor`, ~10 % above the largest value. */
export function niceMax(values: readonly number[], floor: number): number {
  const top = Math.max(floor, ...values.filter((v) => Number.isFinite(v))) * 1.1;
  const magnitude = 10 ** Math.floor(Math.log10(top));
  return Math.ceil(top / magnitude) * magnitude;
}

function x(t: number, f: Frame): number {
  return ((t - f.tMin) / f.windowSeconds) * f.width;
}

function y(v: number, f: Frame): number {
  const clamped = Math.min(Math.max(v, 0), f.vMax);
  return f.height - (clamped / f.vMax) * f.height;
}

const fixed = (n: number): string => String(Math.round(n * 10) / 10);

/** `points` for an SVG polyline: one "x,y" per sample inside the window, oldest first. */
export function polylinePoints(t: readonly number[], values: readonly number[], f: Frame): string {
  const points: string[] = [];
  for (let i = 0; i < t.length && i < values.length; i++) {
    const ti = t[i]!;
    if (ti < f.tMin) continue;
    points.push(`${fixed(x(ti, f))},${fixed(y(values[i]!, f))}`);
  }
  return points.join(' ');
}

/** x positions of the samples at which the retry count went up (a retry happened since the previous one). */
export function retryMarks(t: readonly number[], retries: readonly number[], f: Frame): number[] {
  const marks: number[] = [];
  for (let i = 1; i < t.length && i < retries.length; i++) {
    if (retries[i]! > retries[i - 1]! && t[i]! >= f.tMin) marks.push(Math.round(x(t[i]!, f) * 10) / 10);
  }
  return marks;
}
