// Preloaded (`node -r bench/peak-rss.cjs …`) into a process whose peak RSS a benchmark wants:
// at exit, writes it in MiB to the file named by $LAYERKIT_PEAK_RSS_FILE. Reads VmHWM (the peak
// of this process's own memory) where Linux has it: getrusage's maxrss carries over the parent's
// peak across fork+exec, so a child of a big benchmark process would report the parent's.
const { readFileSync, writeFileSync } = require("node:fs");

function peakMiB() {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync("/proc/self/status", "utf8"));
    if (m) return Number(m[1]) / 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS / 1024;
}

process.on("exit", () => {
  if (process.env.LAYERKIT_PEAK_RSS_FILE) writeFileSync(process.env.LAYERKIT_PEAK_RSS_FILE, String(peakMiB()));
});
