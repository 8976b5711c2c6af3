/**
 * The transcript's language: what most of the audio was in. Providers disagree on spelling
 * ("en", "English", "eng", "en-US"), so names are normalized to ISO 639-1 where we know the language.
 */

/** English names and ISO 639-2/3 codes of common languages, to ISO 639-1. */
const CODES: Readonly<Record<string, string>> = {
  english: 'en', eng: 'en',
  french: 'fr', fra: 'fr', fre: 'fr',
  german: 'de', deu: 'de', ger: 'de',
  spanish: 'es', spa: 'es', castilian: 'es',
  italian: 'it', ita: 'it',
  portuguese: 'pt', por: 'pt',
  dutch: 'nl', nld: 'nl', dut: 'nl', flemish: 'nl',
  russian: 'ru', rus: 'ru',
  ukrainian: 'uk', ukr: 'uk',
  polish: 'pl', pol: 'pl',
  czech: 'cs', ces: 'cs', cze: 'cs',
  swedish: 'sv', swe: 'sv',
  norwegian: 'no', nor: 'no',
  danish: 'da', dan: 'da',
  finnish: 'fi', fin: 'fi',
  greek: 'el', ell: 'el', gre: 'el',
  turkish: 'tr', tur: 'tr',
  arabic: 'ar', ara: 'ar',
  hebrew: 'he', heb: 'he',
  hindi: 'hi', hin: 'hi',
  chinese: 'zh', zho: 'zh', chi: 'zh', mandarin: 'zh',
  japanese: 'ja', jpn: 'ja',
  korean: 'ko', kor: 'ko',
  vietnamese: 'vi', vie: 'vi',
  indonesian: 'id', ind: 'id',
  romanian: 'ro', ron: 'ro', rum: 'ro',
  hungarian: 'hu', hun: 'hu',
};

/**
 * The language with the most weight (audio seconds per chunk; 1 each when `weights` is omitted).
 * Unknown or missing entries are skipped; ties go to the language seen first. Null when nothing is known.
 */
export function majorityLanguage(langs: readonly (string | undefined)[], weights?: readonly number[]): string | null {
  const totals = new Map<string, number>();
  langs.forEach((lang, k) => {
    const code = lang === undefined ? undefined : normalizeLanguage(lang);
    if (!code) return;
    const weight = weights?.[k] ?? 1;
    totals.set(code, (totals.get(code) ?? 0) + (Number.isFinite(weight) && weight > 0 ? weight : 0));
  });
  let best: string | null = null;
  let bestWeight = -1;
  for (const [code, weight] of totals) {
    if (weight > bestWeight) {
      best = code;
      bestWeight = weight;
    }
  }
  return best;
}

/**
 * `"English"`, `"eng"`, `"en-US"`, `"en_us"` → `"en"`. Unknown names come back lower-cased and trimmed;
 * empty or unknown-marker values (`"unknown"`, `"und"`) give undefined.
 */
export function normalizeLanguage(lang: string): string | undefined {
  const value = lang.trim().toLowerCase();
  if (value === '' || value === 'unknown' || value === 'und') return undefined;
  const base = value.split(/[-_]/u)[0] as string;
  if (/^[a-z]{2}$/u.test(base)) return base;
  return CODES[base] ?? CODES[value] ?? value;
}
