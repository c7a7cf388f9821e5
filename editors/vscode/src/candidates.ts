// What `cadquery.generate` answers, read defensively: the server is a separate program and may be
// older or newer than this extension.
//
// Result: { candidates: [{ code: string, score: number, render?: string }] }, best first, where
// `render` is the candidate drawn in the picture convention as a PNG (base64 or a data: URI).

export interface Candidate {
  code: string;
  /** Agreement with the input picture, 0..1. */
  score: number;
  /** A data: URI of the render, when the server sent one. */
  render?: string;
}

export class MalformedResult extends Error {}

export function parseGenerateResult(value: unknown): Candidate[] {
  const list = isObject(value) ? value.candidates : undefined;
  if (!Array.isArray(list)) {
    throw new MalformedResult(
      `cadquery.generate answered ${JSON.stringify(value)?.slice(0, 200)}, not { candidates: [...] }: ` +
        "the server and the extension disagree on the protocol; update both.",
    );
  }
  return list.map((item, i) => {
    if (!isObject(item) || typeof item.code !== "string" || typeof item.score !== "number") {
      throw new MalformedResult(`candidate ${i} has no code or score: ${JSON.stringify(item)?.slice(0, 200)}`);
    }
    const render = typeof item.render === "string" && item.render !== "" ? asDataUri(item.render) : undefined;
    return { code: item.code, score: item.score, render };
  });
}

function asDataUri(png: string): string {
  return png.startsWith("data:") ? png : `data:image/png;base64,${png}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
