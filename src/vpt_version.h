/*
 * Copyright (C) ngx_vpt_module authors
 *
 * The release, defined here and nowhere else: every tool's --version
 * prints it, tools/vpt-demo reads it from this line, and the module's
 * status page can report it (an _info metric).  debian/changelog's top
 * entry names the same version; t/20-tools.t checks that they agree.
 */

#ifndef VPT_VERSION_H
#define VPT_VERSION_H


#define VPT_VERSION  "0.2.0"


#endif /* VPT_VERSION_H */
