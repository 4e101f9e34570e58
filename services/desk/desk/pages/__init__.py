"""The desk's pages: one router per part (sign-in, the patient desk, overcharges), sharing `pages.common`."""
