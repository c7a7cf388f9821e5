// A minimal test runner for the extension host: tests run in order, each outcome is appended to a
// JSON file the harness reads (the extension host's stdout does not reach it), and `run` rejects
// when any test failed, which makes VS Code exit the host with code 1.
import * as fs from "fs";

export class Pending extends Error {}

/** Marks the running test as pending: it needs something the server does not offer yet. */
export function pending(why: string): never {
  throw new Pending(why);
}

export interface Outcome {
  name: string;
  status: "passed" | "failed" | "pending";
  detail?: string;
  ms: number;
}

type Test = { name: string; body: () => Promise<void> };

export class Suite {
  private readonly tests: Test[] = [];

  test(name: string, body: () => Promise<void>): void {
    this.tests.push({ name, body });
  }

  async run(resultsFile: string | undefined): Promise<Outcome[]> {
    const outcomes: Outcome[] = [];
    for (const { name, body } of this.tests) {
      const start = Date.now();
      let outcome: Outcome;
      try {
        await body();
        outcome = { name, status: "passed", ms: Date.now() - start };
      } catch (e) {
        const status = e instanceof Pending ? "pending" : "failed";
        const detail = e instanceof Error ? (status === "failed" ? (e.stack ?? e.message) : e.message) : String(e);
        outcome = { name, status, detail, ms: Date.now() - start };
      }
      outcomes.push(outcome);
      console.log(`[${outcome.status}] ${name}${outcome.detail ? `: ${outcome.detail}` : ""}`);
      if (resultsFile) fs.writeFileSync(resultsFile, JSON.stringify(outcomes, null, 2));
    }
    return outcomes;
  }
}

export async function waitFor<T>(what: string, timeoutMs: number, probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}
