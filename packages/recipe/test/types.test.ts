// Checked by `tsc -p tsconfig.json --noEmit`: the types follow the schema.
import { expectTypeOf, it } from 'vitest';
import type { FilterName, FilterParams, QualityStep, Recipe } from '../src/index.js';

it('types derive from the schema, with defaults required', () => {
  expectTypeOf<Recipe['name']>().toEqualTypeOf<string>();
  expectTypeOf<Recipe['seed']>().toEqualTypeOf<number>();
  expectTypeOf<Recipe['tokenizer']>().toEqualTypeOf<string>(); // an encoding name or a tokenizer.json path
  expectTypeOf<Recipe['sources'][number]['max_epochs']>().toEqualTypeOf<number>();
  expectTypeOf<Recipe['sources'][number]['kind']>().toEqualTypeOf<'real' | 'synthetic'>();
  expectTypeOf<Recipe['sources'][number]['share']>().toEqualTypeOf<number | undefined>();
  expectTypeOf<Recipe['output']['compression']>().toEqualTypeOf<'snappy' | 'zstd' | 'none' | 'gzip'>();
  expectTypeOf<Recipe['output']['shard_size']>().toEqualTypeOf<number | undefined>();
  expectTypeOf<NonNullable<Recipe['target']['ratio']>>().toEqualTypeOf<{ real: number; synthetic: number }>();
  expectTypeOf<Recipe['guards']['max_epochs_warning']>().toEqualTypeOf<number>();
  expectTypeOf<NonNullable<Recipe['dedup']['near']>['num_perm']>().toEqualTypeOf<number>();
  expectTypeOf<FilterName>().toEqualTypeOf<
    | 'gopher_quality'
    | 'gopher_repetition'
    | 'c4'
    | 'fineweb'
    | 'length'
    | 'blocklist'
    | 'language'
    | 'score'
    | 'grounded'
    | 'where'
    | 'pii'
    | 'custom'
  >();
  expectTypeOf<FilterParams<'where'>['in']>().toEqualTypeOf<(string | number | boolean)[] | undefined>();
  expectTypeOf<FilterParams<'pii'>['phone']>().toEqualTypeOf<boolean>();
  expectTypeOf<FilterParams<'custom'>['export']>().toEqualTypeOf<string>();
  expectTypeOf<FilterParams<'score'>['column']>().toEqualTypeOf<string>();
  expectTypeOf<FilterParams<'score'>['min']>().toEqualTypeOf<number | undefined>();
  expectTypeOf<FilterParams<'c4'>['mode']>().toEqualTypeOf<'filter' | 'clean'>();
  expectTypeOf<FilterParams<'gopher_quality'>['stop_words']>().toEqualTypeOf<string[]>();
  expectTypeOf<Extract<QualityStep, { filter: 'length' }>['params']['unit']>().toEqualTypeOf<
    'words' | 'tokens' | 'chars'
  >();
});
