import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router';
import { useAuth } from './composables/useAuth';
import SignInPage from './dashboard/SignInPage.vue';
import RoomsPage from './dashboard/RoomsPage.vue';
import NotFoundPage from './dashboard/NotFoundPage.vue';

declare module 'vue-router' {
  interface RouteMeta {
    /** Only for signed-in hosts and admins. */
    requiresAuth?: boolean;
    /** Sends the already signed-in elsewhere. */
    guestOnly?: boolean;
  }
}

const routes: RouteRecordRaw[] = [
  { path: '/', redirect: () => (useAuth().token.value ? '/rooms' : '/signin') },
  { path: '/signin', component: SignInPage, meta: { guestOnly: true } },
  { path: '/rooms', component: RoomsPage, meta: { requiresAuth: true } },
  // The meeting pulls in mediasoup-client; load it only when someone joins.
  { path: '/join/:roomId', component: () => import('./meeting/JoinPage.vue'), props: true },
  { path: '/:pathMatch(.*)*', component: NotFoundPage },
];

export const router = createRouter({ history: createWebHistory(), routes });

router.beforeEach((to) => {
  const { token } = useAuth();
  if (to.meta.requiresAuth && !token.value) return { path: '/signin', query: { next: to.fullPath } };
  if (to.meta.guestOnly && token.value) return { path: '/rooms' };
  return true;
});
