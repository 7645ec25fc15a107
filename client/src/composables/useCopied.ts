import { onScopeDispose, ref } from 'vue';
import { copyText } from '../services/clipboard';

/** How long a button says "Copied". */
const COPIED_MS = 2_000;

/** Copies text and remembers which button did it (`copied`) for two seconds, so that button can say "Copied". */
export function useCopied<K extends string>() {
  const copied = ref<K | null>(null);
  let timer: ReturnType<typeof setTimeout> | null = null;

  /** False when the browser refused to copy (the caller tells the person to copy by hand). */
  async function copy(which: K, text: string): Promise<boolean> {
    if (!(await copyText(text))) return false;
    copied.value = which;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => (copied.value = null), COPIED_MS);
    return true;
  }

  onScopeDispose(() => {
    if (timer) clearTimeout(timer);
  });
  return { copied, copy };
}
