import { ref, type Ref } from 'vue';
import { actionError } from './formErrors';

/**
 * One action at a time on a list's rows (`busy` holds the row's id while it runs): the page's
 * error and notice are cleared first, and a failure lands in the error in plain words.
 */
export function useRowActions(error: Ref<string | null>, notice: Ref<string | null>) {
  const busy = ref<string | null>(null);

  async function act(id: string, action: () => Promise<void>): Promise<void> {
    if (busy.value) return;
    busy.value = id;
    error.value = null;
    notice.value = null;
    try {
      await action();
    } catch (err) {
      error.value = actionError(err);
    } finally {
      busy.value = null;
    }
  }

  return { busy, act };
}
