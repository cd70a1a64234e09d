import { countTokens as countO200k } from 'gpt-tokenizer/encoding/o200k_base';

/** Tokens of `text` under o200k (the tokenizer of current OpenAI models; close to others' counts). */
export function countTokens(text: string): number {
  return countO200k(text);
}
