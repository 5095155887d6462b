/** Docker/podman size syntax ("512m", "2g", "1024") → bytes, as `--memory` reads it; NaN when invalid. */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmg]?)b?$/i.exec(text.trim());
  if (!m?.[1]) return NaN;
  const unit = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(m[2] ?? '').toLowerCase()] ?? 1;
  return Math.round(Number(m[1]) * unit);
}

/** Bytes as podman's size syntax, rounded up to whole KiB ("34m", "1g", "1536k"). */
export function formatSize(bytes: number): string {
  const kib = Math.ceil(bytes / 1024);
  if (kib % (1024 * 1024) === 0) return `${kib / (1024 * 1024)}g`;
  if (kib % 1024 === 0) return `${kib / 1024}m`;
  return `${kib}k`;
}
