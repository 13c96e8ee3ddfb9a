// The file-name filter of a search, as a LIKE pattern. pure: no I/O. `*` matches any run of
// characters and `?` one character; everything else is literal (LIKE's own % and _ are escaped).
// A pattern without "/" is matched against the last path segment, so "report.pdf" and "*.pdf"
// find "inbox/2026/report.pdf"; a pattern with "/" is matched against the whole stored name.
export type FileNamePattern = { like: string; wholePath: boolean };

export function fileNamePattern(pattern: string): FileNamePattern {
  let like = '';
  for (const ch of pattern) {
    if (ch === '*') like += '%';
    else if (ch === '?') like += '_';
    else if (ch === '%' || ch === '_' || ch === '\\') like += `\\${ch}`;
    else like += ch;
  }
  return { like, wholePath: pattern.includes('/') };
}
