/**
 * Loads now, then again every `intervalMs` while the tab is visible (and at once when it becomes
 * visible again). Owns `loaded` / `error` so pages only render them; a failed refresh keeps the last
 * data on screen and shows the error until a later refresh succeeds.
 */
import { onBeforeUnmount, onMounted, ref } from 'vue';
import { actionError } from './formErrors';

export function usePolling(load: () => Promise<void>, intervalMs: number) {
  const loaded = ref(false);
  const error = ref<string | null>(null);
  let timer: ReturnType<typeof setInterval> | null = null;
  let inFlight: Promise<void> | null = null;

  function refresh(): Promise<void> {
    // A slow server must not pile up requests.
    if (inFlight) return inFlight;
    inFlight = load()
      .then(() => {
        error.value = null;
      })
      .catch((err: unknown) => {
        error.value = actionError(err);
      })
      .finally(() => {
        loaded.value = true;
        inFlight = null;
      });
    return inFlight;
  }

  function onVisibility(): void {
    if (document.visibilityState === 'visible') void refresh();
  }

  onMounted(() => {
    void refresh();
    timer = setInterval(() => {
      if (document.visibilityState === 'visible') void refresh();
    }, intervalMs);
    document.addEventListener('visibilitychange', onVisibility);
  });

  onBeforeUnmount(() => {
    if (timer) clearInterval(timer);
    document.removeEventListener('visibilitychange', onVisibility);
  });

  return { loaded, error, refresh };
}
