// SPDX-License-Identifier: MIT OR Apache-2.0

//! Helpers shared by camwall's end-to-end tests.
