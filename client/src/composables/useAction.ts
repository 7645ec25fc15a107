import { ref } from 'vue';
import { describeError } from '../services/errors';

/**
 * One action at a time with its state for the template: `busy` while it runs (a second call then
 * does nothing), and its failure in plain words in `error` (cleared when the next one starts).
 */
export function useAction() {
  const busy = ref(false);
  const error = ref<string | null>(null);

  async function run(action: () => Promise<unknown>): Promise<void> {
    if (busy.value) return;
    busy.value = true;
    error.value = null;
    try {
      await action();
    } catch (err) {
      error.value = describeError(err);
    } finally {
      busy.value = false;
    }
  }

  return { busy, error, run };
}
