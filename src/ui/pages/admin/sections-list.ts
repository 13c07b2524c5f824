/** The administration sections, each a page of its own under /admin/SECTION. */
export const ADMIN_SECTIONS: { id: string; title: string; intro: string }[] = [
  { id: "users", title: "Users", intro: "People who sign in, and who of them administers." },
  { id: "tokens", title: "Robot tokens", intro: "Scoped, expiring credentials for CI and automation." },
  {
    id: "access",
    title: "Access rules",
    intro: "Who may pull, push, delete or administer which repositories.",
  },
  {
    id: "immutable",
    title: "Immutable tags",
    intro: "Tags that, once pushed, never move and are never deleted.",
  },
  {
    id: "trust",
    title: "Trust",
    intro: "Keys signatures are verified with, and where signatures are required.",
  },
  { id: "retention", title: "Retention", intro: "Which tags policies keep, and removing the others." },
  {
    id: "quotas",
    title: "Quotas",
    intro: "How many bytes a namespace may hold, and what each repository holds.",
  },
  { id: "gc", title: "Garbage collection", intro: "Removing what no tag or manifest needs any more." },
  { id: "audit", title: "Audit log", intro: "Who did what, when, from where." },
];
