import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router';
import { useAuth } from './composables/useAuth';
import SignInPage from './dashboard/SignInPage.vue';
import RoomsPage from './dashboard/RoomsPage.vue';
import NotFoundPage from './dashboard/NotFoundPage.vue';
import AdminLayout from './dashboard/admin/AdminLayout.vue';

declare module 'vue-router' {
  interface RouteMeta {
    /** Only for signed-in hosts and admins. */
    requiresAuth?: boolean;
    /** Sends the already signed-in elsewhere. */
    guestOnly?: boolean;
    /** Admins only; hosts are sent to the webinars list. */
    requiresAdmin?: boolean;
  }
}

const routes: RouteRecordRaw[] = [
  { path: '/', redirect: () => (useAuth().token.value ? '/rooms' : '/signin') },
  { path: '/signin', component: SignInPage, meta: { guestOnly: true } },
  { path: '/rooms', component: RoomsPage, meta: { requiresAuth: true } },
  {
    // Admins manage everything here; hosts see their webinars and the broadcast history.
    path: '/admin',
    component: AdminLayout,
    meta: { requiresAuth: true },
    children: [
      { path: '', redirect: '/admin/webinars' },
      { path: 'webinars', component: () => import('./dashboard/admin/WebinarsPage.vue') },
      { path: 'webinars/:id', component: () => import('./dashboard/admin/WebinarPage.vue'), props: true },
      { path: 'history', component: () => import('./dashboard/admin/HistoryPage.vue') },
      { path: 'destinations', component: () => import('./dashboard/admin/DestinationsPage.vue'), meta: { requiresAdmin: true } },
      { path: 'users', component: () => import('./dashboard/admin/UsersPage.vue'), meta: { requiresAdmin: true } },
      { path: 'webhooks', component: () => import('./dashboard/admin/WebhooksPage.vue'), meta: { requiresAdmin: true } },
    ],
  },
  // The meeting pulls in mediasoup-client; load it only when someone joins.
  { path: '/join/:roomId', component: () => import('./meeting/JoinPage.vue'), props: true },
  // The event page pulls in hls.js; viewers need no account.
  { path: '/watch/:slug', component: () => import('./watch/WatchPage.vue'), props: true },
  { path: '/:pathMatch(.*)*', component: NotFoundPage },
];

export const router = createRouter({ history: createWebHistory(), routes });

router.beforeEach(async (to) => {
  const { token, loadUser } = useAuth();
  if (to.meta.requiresAuth && !token.value) return { path: '/signin', query: { next: to.fullPath } };
  if (to.meta.guestOnly && token.value) return { path: '/rooms' };
  if (to.meta.requiresAdmin) {
    let me: Awaited<ReturnType<typeof loadUser>>;
    try {
      me = await loadUser();
    } catch {
      return true; // server unreachable: the page shows its own load error
    }
    if (!me) return { path: '/signin', query: { next: to.fullPath } };
    if (me.role !== 'admin') return { path: '/admin/webinars' };
  }
  return true;
});
