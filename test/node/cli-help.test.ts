/**
 * Every subcommand's --help (usage, options, an example), the top-level help, and usage errors
 * (exit 2 with the usage on stderr, or a JSON error object with --json), through the real bin.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { buildCli, runCli } from "./cli-run.js";

let commands: string[];

beforeAll(() => {
  buildCli();
  const top = runCli(["--help"]);
  expect(top.status).toBe(0);
  // Command names are listed between "commands:" and the first blank line after it.
  const lines = top.stdout.split("\n");
  const start = lines.indexOf("commands:") + 1;
  commands = lines.slice(start, lines.indexOf("", start)).map((l) => l.trim().split(/\s+/)[0]!);
});

describe("help", () => {
  it("lists every subcommand the issue asks for, and the exit codes", () => {
    expect(commands.sort()).toEqual([
      "als",
      "cat",
      "convert",
      "create",
      "demo",
      "diff",
      "extract",
      "image",
      "inspect",
      "ls",
      "pull",
      "push",
      "verify",
    ]);
    const top = runCli(["--help"]);
    expect(top.stdout).toContain("exit codes (every command):\n  0  ok\n  1  the layer or image is bad");
  });

  it("every subcommand's --help (and `help CMD`) shows its usage, options and a runnable-looking example; exit 0", () => {
    for (const c of commands) {
      for (const args of [[c, "--help"], [c, "-h"], ["help", c]]) {
        const r = runCli(args);
        expect(r.status).toBe(0);
        expect(r.stderr).toBe("");
        expect(r.stdout).toMatch(new RegExp(`^usage: layerkit ${c}( |\n)`));
        expect(r.stdout).toContain("\noptions:\n");
        expect(r.stdout).toMatch(new RegExp(`\nexample:\n  layerkit ${c} \\S`));
        expect(r.stdout).toContain("--json");
      }
    }
  });

  it("no arguments: the top usage and exit 2; --version", () => {
    const r = runCli([]);
    expect(r.status).toBe(2);
    expect(r.stdout).toContain("usage: layerkit <command>");
    expect(runCli(["--version"]).stdout).toBe("layerkit 0.1.0\n");
  });
});

describe("usage errors exit 2", () => {
  it("an unknown command, an unknown option, a missing or extra argument", () => {
    const unknown = runCli(["frobnicate"]);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toBe("layerkit: unknown command \"frobnicate\"\nRun 'layerkit --help' for usage.\n");
    for (const args of [["ls", "x.zst", "--bogus"], ["cat", "x.zst"], ["verify"], ["push", "only-one"], ["inspect", "a", "b"]]) {
      const r = runCli(args);
      expect(r.status).toBe(2);
      // Two short lines: what is wrong, and where the usage is.
      expect(r.stderr).toMatch(new RegExp(`^layerkit ${args[0]}: [^\n]+\nRun 'layerkit ${args[0]} --help' for usage.\n$`));
      expect(r.stdout).toBe("");
    }
  });

  it("--json turns a usage error into one JSON error object on stdout", () => {
    const r = runCli(["cat", "x.zst", "--json"]);
    expect(r.status).toBe(2);
    expect(JSON.parse(r.stdout)).toEqual({
      error: {
        code: "USAGE",
        message: "takes 2 argument(s), got 1: cat SOURCE PATH [--layer N|DIGEST] [--blob] [--annotations JSON|FILE]",
      },
    });
    const layer = runCli(["ls", "file.zst", "--layer", "-1", "--json"]);
    expect(layer.status).toBe(2);
    expect(JSON.parse(layer.stdout).error.code).toBe("USAGE");
  });
});
