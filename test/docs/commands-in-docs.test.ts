import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type CommandClaim, type FlagRow, type FlagTable, readDocClaims, UNIVERSAL_FLAGS } from './command-claims.js';
import { type CommandHelp, type HelpFlag, readCommandHelp } from './command-help.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** npm scripts whose flags the docs give, with the compiled entry that prints their --help. */
const SCRIPTS_WITH_HELP = { 'npm run demo': 'dist/clients/demo/run-demo.js' };

/** Every markdown file of the project (README.md, docs/, a folder's README), by path from the root. */
function markdownFiles(dir = root): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name.startsWith('.') || entry.name === 'node_modules' || entry.name === 'dist') return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return markdownFiles(path);
    return entry.isFile() && entry.name.endsWith('.md') ? [relative(root, path)] : [];
  });
}

const sorted = (flags: Iterable<string>) => [...flags].sort().join(', ');

describe('the docs name only commands and flags that exist, and list every flag --help lists', () => {
  let help: CommandHelp;
  let claims: CommandClaim[];
  let flagTables: FlagTable[];
  let scripts: Set<string>;

  before(async () => {
    help = await readCommandHelp(root, SCRIPTS_WITH_HELP);
    const docs = markdownFiles().map((file) => readDocClaims(file, readFileSync(join(root, file), 'utf8')));
    claims = docs.flatMap((doc) => doc.claims);
    flagTables = docs.flatMap((doc) => doc.flagTables);
    scripts = new Set(Object.keys(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts).map((name) => `npm run ${name}`));
  });

  it('every `beacon <command>` in the docs is one that `beacon --help` lists, and every `npm run <script>` one of package.json', () => {
    const beaconCommands = [...help.keys()].filter((command) => command.startsWith('beacon '));
    const problems = claims
      .filter((claim) => (claim.command.startsWith('npm run ') ? !scripts.has(claim.command) : !help.has(claim.command)))
      .map((claim) =>
        claim.command.startsWith('npm run ')
          ? `${claim.file}:${claim.line}: \`${claim.command}\`: package.json has no such script`
          : `${claim.file}:${claim.line}: \`${claim.command}\` is not a command (beacon --help lists ${beaconCommands.join(', ')})`,
      );

    assert.deepEqual(problems, []);
  });

  it('every flag the docs give a command is one its --help lists', () => {
    const problems = claims.flatMap((claim) => {
      const flags = help.get(claim.command);
      if (!flags) return [];
      return claim.flags
        .filter((flag) => !flags.has(flag) && !UNIVERSAL_FLAGS.has(flag))
        .map((flag) => `${claim.file}:${claim.line}: \`${claim.command}\` has no flag ${flag} (its --help lists ${sorted(flags.keys())})`);
    });

    assert.deepEqual(problems, []);
  });

  it('every flag table says whose flags it lists, by a heading naming the command or a <!-- flags of: … --> line above it', () => {
    const problems = flagTables
      .filter((table) => table.commands.length === 0)
      .map((table) => `${table.file}:${table.line}: a flag table of no command: put it under a heading naming the command or right after <!-- flags of: beacon <command> -->`);

    assert.deepEqual(problems, []);
  });

  it('every command `beacon --help` lists is named in the docs and has its flags listed in a flag table', () => {
    const named = new Set(claims.map((claim) => claim.command));
    const tabled = new Set(flagTables.flatMap((table) => table.commands));
    const problems = [...help].flatMap(([command, flags]) => [
      ...(named.has(command) ? [] : [`\`${command}\` is a command, but no doc names it`]),
      ...(tabled.has(command) || flags.size === 0 ? [] : [`\`${command}\` has flags (${sorted(flags.keys())}), but no doc lists them in a flag table`]),
    ]);

    assert.deepEqual(problems, []);
  });

  it("a doc's flag tables for a command, taken together, list every flag its --help lists", () => {
    const problems: string[] = [];
    for (const file of new Set(flagTables.map((table) => table.file))) {
      const tables = flagTables.filter((table) => table.file === file);
      for (const command of new Set(tables.flatMap((table) => table.commands))) {
        const flags = help.get(command);
        if (!flags) continue;
        const own = tables.filter((table) => table.commands.includes(command));
        const listed = new Set(own.flatMap((table) => table.rows.flatMap((row) => row.flags)));
        const missing = [...flags.keys()].filter((flag) => !listed.has(flag));
        const where = own.map((table) => table.line).join(', ');
        if (missing.length > 0) problems.push(`${file}:${where}: the flag tables of \`${command}\` miss ${missing.join(', ')}, which its --help lists`);
      }
    }

    assert.deepEqual(problems, []);
  });

  it("the defaults and environment variables in flag tables are the ones --help prints", () => {
    const problems = flagTables.flatMap((table) =>
      table.commands.flatMap((command) => {
        const flags = help.get(command);
        if (!flags) return [];
        return table.rows.flatMap((row) => rowProblems(row, flags).map((problem) => `${table.file}:${row.line}: \`${command}\` ${problem}`));
      }),
    );

    assert.deepEqual(problems, []);
  });
});

function codeIn(cell: string): string[] {
  return [...cell.matchAll(/`([^`]+)`/g)].map((match) => match[1]!);
}

/** What a flag table's row says wrong about its flags' defaults and variables. */
function rowProblems(row: FlagRow, flags: Map<string, HelpFlag>): string[] {
  const problems: string[] = [];
  const known = row.flags.map((flag) => [flag, flags.get(flag)] as const).filter((pair): pair is readonly [string, HelpFlag] => pair[1] !== undefined);
  if (row.defaultCell !== undefined) {
    const values = codeIn(row.defaultCell);
    known.forEach(([flag, { origin }], index) => {
      const cell = row.defaultCell!.toLowerCase();
      const given = values.length === row.flags.length ? values[index] : values[0];
      const wrong =
        origin.kind === 'default'
          ? given !== origin.value && `${flag}: the table says default "${given ?? row.defaultCell}", --help says ${origin.value}`
          : origin.kind === 'none'
            ? !cell.startsWith('none') && `${flag}: the table says default "${row.defaultCell}", --help says none`
            : origin.kind === 'switch'
              ? !cell.startsWith('off') && `${flag}: the table says default "${row.defaultCell}", --help says off unless given`
              : origin.kind === 'required' && !cell.includes('required') && `${flag}: the table says default "${row.defaultCell}", --help says it is required`;
      if (wrong) problems.push(wrong);
    });
  }
  if (row.envCell !== undefined) {
    const given = codeIn(row.envCell);
    const expected = known.map(([, { env }]) => env).filter((env): env is string => env !== undefined);
    if (given.join(', ') !== expected.join(', ')) {
      problems.push(`${row.flags.join(', ')}: the table says env ${given.join(', ') || 'none'}, --help says ${expected.join(', ') || 'none'}`);
    }
  }
  return problems;
}
