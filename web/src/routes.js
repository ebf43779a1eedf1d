// Every page of the app: path, the module that renders it (loaded when first needed), and
// who may see it (`auth`: signed in; `roles`: one of these roles).
const home = () => import("./pages/home.js");
const auth = () => import("./pages/auth.js");
const shop = () => import("./pages/shop.js");
const orders = () => import("./pages/orders.js");
const wallet = () => import("./pages/wallet.js");
const missions = () => import("./pages/missions.js");
const chat = () => import("./pages/chat.js");
const seller = () => import("./pages/seller.js");
const streamer = () => import("./pages/streamer.js");
const admin = () => import("./pages/admin.js");
const console_ = () => import("./pages/console.js");
const payouts = () => import("./pages/payouts.js");
const notifications = () => import("./pages/notifications.js");
const reports = () => import("./pages/reports.js");

const CUSTOMER = ["customer"];
const ADMIN = ["admin"];

export const routes = [
  { path: "/", load: home, view: "Home", title: "nav.home" },
  { path: "/login", load: auth, view: "Login", title: "nav.login" },
  { path: "/signup", load: auth, view: "Signup", title: "nav.signup" },
  { path: "/verify-email", load: auth, view: "VerifyEmail", title: "verify.title" },
  { path: "/reset-password", load: auth, view: "ResetPassword", title: "reset.title" },
  { path: "/profile", load: auth, view: "Profile", title: "nav.profile", auth: true },
  { path: "/search", load: shop, view: "Search", title: "search.title" },
  { path: "/products/:id", load: shop, view: "Product", title: "product.title" },
  { path: "/cart", load: shop, view: "Cart", title: "nav.cart", roles: CUSTOMER },
  { path: "/orders", load: orders, view: "Orders", title: "nav.orders", roles: CUSTOMER },
  { path: "/orders/:id", load: orders, view: "Order", title: "order.title", roles: CUSTOMER },
  { path: "/wallet", load: wallet, view: "Wallet", title: "nav.wallet", auth: true },
  { path: "/missions", load: missions, view: "Missions", title: "nav.missions", auth: true },
  { path: "/missions/new", load: missions, view: "NewMission", title: "missions.new", auth: true },
  { path: "/missions/:id", load: missions, view: "Mission", title: "mission.title", auth: true },
  { path: "/chat", load: chat, view: "Rooms", title: "nav.chat", auth: true },
  { path: "/chat/:id", load: chat, view: "Room", title: "nav.chat", auth: true },
  { path: "/seller", load: seller, view: "Products", title: "nav.seller", roles: ["seller"] },
  { path: "/seller/products/new", load: seller, view: "EditProduct", title: "seller.new", roles: ["seller"] },
  { path: "/seller/products/:id", load: seller, view: "EditProduct", title: "seller.edit", roles: ["seller"] },
  { path: "/seller/orders", load: seller, view: "SellerOrders", title: "seller.orders", roles: ["seller"] },
  { path: "/seller/orders/:id", load: seller, view: "SellerOrder", title: "order.title", roles: ["seller"] },
  { path: "/seller/sales", load: seller, view: "Sales", title: "seller.sales", roles: ["seller"] },
  { path: "/payouts", load: payouts, view: "Payouts", title: "nav.payouts", roles: ["seller", "streamer"] },
  { path: "/notifications", load: notifications, view: "Notifications", title: "nav.notifications", auth: true },
  { path: "/reports", load: reports, view: "MyReports", title: "reports.title", auth: true },
  { path: "/reports/:id", load: reports, view: "MyReport", title: "reports.title", auth: true },
  { path: "/notifications/settings", load: notifications, view: "NotificationSettings", title: "notifications.settings", auth: true },
  { path: "/streamer", load: streamer, view: "Streamer", title: "nav.streamer", roles: ["streamer"] },
  { path: "/admin", load: admin, view: "FeedRows", title: "nav.admin", roles: ["admin"] },
  { path: "/admin/ad-slots", load: admin, view: "AdSlots", title: "admin.slots", roles: ADMIN },
  { path: "/admin/reports", load: console_, view: "Reports", title: "admin.reports", roles: ADMIN },
  { path: "/admin/reports/:id", load: console_, view: "Report", title: "admin.report", roles: ADMIN },
  { path: "/admin/accounts", load: console_, view: "Accounts", title: "admin.accounts", roles: ADMIN },
  { path: "/admin/ledger", load: console_, view: "LedgerAudit", title: "admin.ledger", roles: ADMIN },
  { path: "/admin/outbox", load: console_, view: "Outbox", title: "admin.outbox", roles: ADMIN },
  { path: "/admin/orders/:id", load: console_, view: "AdminOrder", title: "order.title", roles: ADMIN },
];
