import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import openapiTS, { astToString, COMMENT_HEADER } from 'openapi-typescript';

const root = new URL('../../../../', import.meta.url);
const document = new URL('openapi/openapi.json', root);
const committed = new URL('clients/registry/openapi-types.ts', root);

/** Where two texts part, as `line N: "committed" vs "generated"`. */
function firstDifference(committedText: string, generatedText: string): string {
  const committedLines = committedText.split('\n');
  const generatedLines = generatedText.split('\n');
  const line = committedLines.findIndex((text, at) => text !== generatedLines[at]);
  const at = line === -1 ? committedLines.length : line;
  return `line ${at + 1}: committed ${JSON.stringify(committedLines[at] ?? '(end of file)')}, generated ${JSON.stringify(generatedLines[at] ?? '(end of file)')}`;
}

test('clients/registry/openapi-types.ts is what openapi-typescript makes of openapi/openapi.json (run `npm run openapi` after changing the API)', async () => {
  // What `npm run openapi:types` (the openapi-typescript command) writes: its header, then the types.
  const generated = `${COMMENT_HEADER}${astToString(await openapiTS(document, { silent: true }))}`;
  const current = readFileSync(committed, 'utf8');

  if (current !== generated) {
    assert.fail(`clients/registry/openapi-types.ts is out of date with openapi/openapi.json (${firstDifference(current, generated)}): run \`npm run openapi\``);
  }
});
