/**
 * What a markdown document claims about Beacon's commands: every command it names and every flag
 * it gives one. Precise rather than clever, so that a flag of dig, curl, npm or docker-compose is
 * never taken for one of Beacon's:
 *
 * - A command is named by an invocation, `beacon <command>` (also `npx beacon …` and
 *   `node bin/beacon.js …`) or `npm run <script>`, in a code block, a code span or a heading.
 *   Prose outside code ("measured beacon proxy against haproxy") names nothing.
 * - The flags after an invocation, up to the end of that shell command (`|`, `;`, `&`, `&&`, a
 *   `#` comment, the next invocation, or `--`), are that command's. After `npm run X --`, the
 *   flags are the script's; before it, npm's own.
 * - A flag table (a table whose first column is `flag`) lists the flags of the command its
 *   innermost heading names (`# beacon proxy`, `### \`beacon resolve\``), or of those a
 *   `<!-- flags of: beacon server -->` line right above it names.
 * - A code span that starts with a flag (`--mode tcp`) in a section whose heading names a
 *   command is a flag of that command. Elsewhere a lone flag is not attributed: `--address` in a
 *   paragraph about dnsmasq is dnsmasq's.
 */

/** A place where a document names a command, with the flags it gives it there. */
export interface CommandClaim {
  file: string;
  line: number;
  /** As typed, normalised: `beacon proxy`, `npm run demo`. */
  command: string;
  flags: string[];
  kind: 'code' | 'heading' | 'table' | 'section';
}

export interface FlagRow {
  line: number;
  flags: string[];
  /** The `default` and `env` cells, when the table has those columns. */
  defaultCell?: string;
  envCell?: string;
}

export interface FlagTable {
  file: string;
  line: number;
  /** The commands whose flags it lists; empty when neither a heading nor a marker names one. */
  commands: string[];
  rows: FlagRow[];
}

export interface DocClaims {
  claims: CommandClaim[];
  flagTables: FlagTable[];
}

/** Flags every command takes, which no --help lists as its own. */
export const UNIVERSAL_FLAGS = new Set(['--help']);

const INVOCATION = /(?<![\w./<>-])(?:(?:npx\s+beacon|node\s+(?:\.\/)?bin\/beacon\.js|beacon)\s+([a-z][a-z0-9-]*)(:?)|npm\s+run\s+([a-z][a-z0-9:-]*))/g;
const FLAG = /(?:^|[[(|])(--[a-z][a-z0-9-]*)/g;
const SHELL_LANGUAGES = new Set(['', 'sh', 'shell', 'bash', 'console', 'text']);
const MARKER = /^<!--\s*flags of:\s*(.*?)\s*-->$/;

interface Invocation {
  at: number;
  end: number;
  command: string;
  flags: string[];
}

/** Every invocation in a piece of code (one code-block line, or one code span). */
export function invocationsIn(code: string): Invocation[] {
  const found = [...code.matchAll(INVOCATION)];
  return found.map((match, position) => {
    const at = match.index!;
    const end = at + match[0].length;
    const next = found[position + 1]?.index ?? code.length;
    if (match[3] !== undefined) return { at, end, command: `npm run ${match[3]}`, flags: scriptFlags(code.slice(end, next)) };
    // `beacon server: bad value` is an error message naming the command, not a command line.
    const flags = match[2] === ':' ? [] : flagsOf(code.slice(end, next), { stopAtDoubleDash: true });
    return { at, end, command: `beacon ${match[1]}`, flags };
  });
}

/** `npm run X -- --flag`: npm's own flags stand before `--`, the script's after it. */
function scriptFlags(rest: string): string[] {
  const words = shellWords(rest);
  const dashes = words.findIndex((word) => word.text === '--' && !word.quoted);
  return dashes === -1 ? [] : flagsOfWords(words.slice(dashes + 1), { stopAtDoubleDash: false });
}

function flagsOf(rest: string, options: { stopAtDoubleDash: boolean }): string[] {
  return flagsOfWords(shellWords(rest), options);
}

function flagsOfWords(words: ShellWord[], { stopAtDoubleDash }: { stopAtDoubleDash: boolean }): string[] {
  const flags: string[] = [];
  for (const word of words) {
    if (word.quoted) continue;
    if (word.text === '--' && stopAtDoubleDash) break;
    for (const match of word.text.matchAll(FLAG)) flags.push(match[1]!);
  }
  return flags;
}

interface ShellWord {
  text: string;
  quoted: boolean;
}

/** The words of one shell command: up to a `#` comment, `|`, `||`, `;`, `&` or `&&`. */
function shellWords(text: string): ShellWord[] {
  const words: ShellWord[] = [];
  let at = 0;
  while (at < text.length) {
    while (at < text.length && /\s/.test(text[at]!)) at++;
    if (at >= text.length) break;
    const quote = text[at];
    if (quote === "'" || quote === '"') {
      const close = text.indexOf(quote, at + 1);
      const end = close === -1 ? text.length : close + 1;
      words.push({ text: text.slice(at, end), quoted: true });
      at = end;
      continue;
    }
    if (text[at] === '#') break;
    let end = at;
    while (end < text.length && !/\s/.test(text[end]!)) end++;
    const word = text.slice(at, end);
    if (/^(\|\|?|&&?|;)$/.test(word)) break;
    const ending = /[;&]$/.test(word);
    words.push({ text: ending ? word.slice(0, -1) : word, quoted: false });
    if (ending) break;
    at = end;
  }
  return words;
}

/** The code spans of a run of text, with the line each starts on. */
function codeSpans(text: string, firstLine: number): { code: string; line: number }[] {
  const spans: { code: string; line: number }[] = [];
  for (const match of text.matchAll(/(`+)([\s\S]*?[^`])\1(?!`)/g)) {
    const line = firstLine + (text.slice(0, match.index).match(/\n/g)?.length ?? 0);
    spans.push({ code: match[2]!.replace(/\s*\n\s*/g, ' ').replace(/\\\|/g, '|').trim(), line });
  }
  return spans;
}

function tableCells(row: string): string[] {
  return row
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split(/(?<!\\)\|/)
    .map((cell) => cell.trim());
}

interface Heading {
  level: number;
  commands: string[];
}

/** Reads one markdown file's claims. `file` is how messages name it (docs/cli.md). */
export function readDocClaims(file: string, text: string): DocClaims {
  const lines = text.split('\n');
  const claims: CommandClaim[] = [];
  const flagTables: FlagTable[] = [];
  const headings: Heading[] = [];
  let marker: { line: number; commands: string[] } | undefined;

  const sectionCommands = (): string[] => [...headings].reverse().find((heading) => heading.commands.length > 0)?.commands ?? [];
  const claim = (line: number, command: string, flags: string[], kind: CommandClaim['kind']) => claims.push({ file, line, command, flags, kind });
  /** A code span or code-block line: its invocations, or, when it starts with a flag, a flag of the section's command. */
  const readCode = (code: string, line: number, kind: 'code' | 'heading') => {
    const invocations = invocationsIn(code);
    for (const invocation of invocations) claim(line, invocation.command, invocation.flags, kind);
    if (invocations.length === 0 && /^--[a-z]/.test(code)) {
      for (const command of sectionCommands()) claim(line, command, flagsOf(code, { stopAtDoubleDash: true }), 'section');
    }
  };

  let at = 0;
  while (at < lines.length) {
    const line = lines[at]!;
    const number = at + 1;
    const fence = /^\s*(```+|~~~+)\s*([\w-]*)/.exec(line);
    if (fence) {
      const close = lines.findIndex((candidate, index) => index > at && candidate.trim().startsWith(fence[1]!));
      const end = close === -1 ? lines.length : close;
      if (SHELL_LANGUAGES.has(fence[2]!.toLowerCase())) {
        for (let index = at + 1; index < end; index++) {
          // A line ending in `\` goes on: the command is the lines joined.
          let code = lines[index]!;
          const first = index + 1;
          while (code.endsWith('\\') && index + 1 < end) code = `${code.slice(0, -1)} ${lines[++index]}`;
          for (const invocation of invocationsIn(code)) claim(first, invocation.command, invocation.flags, 'code');
        }
      }
      at = end + 1;
      marker = undefined;
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      const level = heading[1]!.length;
      while (headings.length > 0 && headings.at(-1)!.level >= level) headings.pop();
      const title = heading[2]!;
      const commands = invocationsIn(title.replace(/`/g, '')).map((invocation) => invocation.command);
      headings.push({ level, commands: [...new Set(commands)] });
      for (const command of commands) claim(number, command, [], 'heading');
      for (const span of codeSpans(title, number)) if (/^--[a-z]/.test(span.code)) readCode(span.code, number, 'heading');
      at++;
      marker = undefined;
      continue;
    }
    const markerMatch = MARKER.exec(line.trim());
    if (markerMatch) {
      marker = { line: number, commands: invocationsIn(markerMatch[1]!).map((invocation) => invocation.command) };
      for (const command of marker.commands) claim(number, command, [], 'table');
      at++;
      continue;
    }
    if (line.trim().startsWith('|')) {
      let end = at;
      while (end < lines.length && lines[end]!.trim().startsWith('|')) end++;
      const header = tableCells(line).map((cell) => cell.toLowerCase());
      const isFlagTable = header[0] === 'flag';
      const table: FlagTable = { file, line: number, commands: marker?.commands ?? sectionCommands(), rows: [] };
      const defaultColumn = header.indexOf('default');
      const envColumn = header.indexOf('env');
      for (let index = at + 2; index < end; index++) {
        const cells = tableCells(lines[index]!);
        cells.forEach((cell, column) => {
          if (isFlagTable && column === 0) return;
          for (const span of codeSpans(cell, index + 1)) readCode(span.code, index + 1, 'code');
        });
        if (!isFlagTable) continue;
        const flags = codeSpans(cells[0] ?? '', index + 1)
          .map((span) => /^--[a-z][a-z0-9-]*/.exec(span.code)?.[0])
          .filter((flag): flag is string => flag !== undefined && !UNIVERSAL_FLAGS.has(flag));
        if (flags.length === 0) continue;
        const row: FlagRow = { line: index + 1, flags };
        if (defaultColumn > 0) row.defaultCell = cells[defaultColumn] ?? '';
        if (envColumn > 0) row.envCell = cells[envColumn] ?? '';
        table.rows.push(row);
        for (const command of table.commands) claim(index + 1, command, flags, 'table');
      }
      if (isFlagTable) flagTables.push(table);
      at = end;
      marker = undefined;
      continue;
    }
    if (line.trim() === '') {
      at++;
      continue;
    }
    // A paragraph (or one list item): code spans may run over its lines.
    let end = at + 1;
    while (
      end < lines.length &&
      lines[end]!.trim() !== '' &&
      !/^\s*(```|~~~|#{1,6}\s|\||<!--|[-*+]\s|\d+\.\s)/.test(lines[end]!)
    ) {
      end++;
    }
    for (const span of codeSpans(lines.slice(at, end).join('\n'), number)) readCode(span.code, span.line, 'code');
    at = end;
    marker = undefined;
  }
  return { claims, flagTables };
}
