// Whether Python source imports the cadquery package: `import cadquery`, `import cadquery as cq`,
// `import os, cadquery`, `from cadquery import ...`, `from cadquery.occ_impl import ...`.
const IMPORTS_CADQUERY =
  /^[ \t]*(?:from[ \t]+cadquery\b|import[ \t]+(?:[\w.]+(?:[ \t]+as[ \t]+\w+)?[ \t]*,[ \t]*)*cadquery\b)/m;

export function importsCadQuery(text: string): boolean {
  return IMPORTS_CADQUERY.test(text);
}
