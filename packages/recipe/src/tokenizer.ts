/**
 * The recipe's tokenizer.json, checked before any work: readable, JSON, a supported model, and for
 * tokenized output (`megatron`, `nanotron`) an EOD token in the vocabulary and a vocabulary that
 * fits `token_size`. Problems are recipe issues whose message names the file.
 */
import { CurateError, loadTokenizerFile, type TokenEncoder } from '@curate/core';
import type { Recipe, RecipeIssue } from './types.js';

/** Bytes per token id for tokenized output: the recipe's `token_size`, else 2 when the vocabulary fits uint16. */
export function tokenSize(recipe: Recipe, tok: TokenEncoder): 2 | 4 {
  return (recipe.output.token_size as 2 | 4 | undefined) ?? (tok.vocabSize <= 65536 ? 2 : 4);
}

/** The EOD token's id for tokenized output (the recipe's `eod_token`, else the tokenizer's). */
export function eodId(recipe: Recipe, tok: TokenEncoder): number | undefined {
  const name = recipe.output.eod_token ?? tok.eod;
  return name === undefined ? undefined : tok.idOf(name);
}

/** Issues with the recipe's tokenizer.json (none when `tokenizer` names an encoding); `path` is absolute. */
export async function checkTokenizer(recipe: Recipe, path: string): Promise<RecipeIssue[]> {
  if (!recipe.tokenizer.endsWith('.json')) return [];
  let tok: TokenEncoder;
  try {
    tok = await loadTokenizerFile(path);
  } catch (e) {
    if (e instanceof CurateError) return [{ path: 'tokenizer', message: e.toLine() }];
    throw e;
  }
  const f = recipe.output.format;
  if (f !== 'megatron' && f !== 'nanotron') return [];
  const issues: RecipeIssue[] = [];
  const eod = recipe.output.eod_token ?? tok.eod;
  if (eod === undefined) {
    issues.push({
      path: 'output.eod_token',
      message: `${path}: the tokenizer has no known end-of-text token: name one`,
    });
  } else if (tok.idOf(eod) === undefined) {
    issues.push({
      path: recipe.output.eod_token === undefined ? 'tokenizer' : 'output.eod_token',
      message: `${path}: EOD token ${JSON.stringify(eod)} is not in the vocabulary`,
    });
  }
  const size = tokenSize(recipe, tok);
  const max = size === 2 ? 65536 : 2 ** 31;
  if (tok.vocabSize > max) {
    issues.push({
      path: recipe.output.token_size === undefined ? 'tokenizer' : 'output.token_size',
      message: `${path}: a vocabulary of ${tok.vocabSize} tokens does not fit ${size === 2 ? 'uint16' : 'int32'} token ids`,
    });
  }
  return issues;
}
