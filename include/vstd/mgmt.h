/*
 * vstd/mgmt.h - virtual system management: the DMTF CIM System
 * Virtualization profiles (DSP1042, DSP1057, DSP1041, DSP1043, DSP1045,
 * DSP1047, DSP1050, DSP1052) over two backends (QEMU driven over QMP, and
 * the vstd KVM monitor), and a WBEM server speaking DSP0200 CIM-XML over
 * HTTP(S) that ordinary CIM clients (wbemcli, pywbem, ...) drive.
 *
 * The model is the one of docs/mgmt.md: a host system, virtual systems
 * (VSTD_ComputerSystem), their settings (VSTD_VirtualSystemSettingData) and
 * resource allocations (RASD, SASD, EPASD), pools, capabilities, the
 * management service and jobs, in namespace root/virtualization.
 *
 * A vstd_mgmt holds the definitions of a state directory.  Every change is
 * written atomically (temporary file, fsync, rename, fsync of the
 * directory) before the call returns, so a crash or restart loses nothing
 * and never leaves a half-written definition.  Two vstd_mgmt (or two
 * servers) must not share a state directory; the second open fails with
 * VSTD_EBUSY.
 *
 * Thread safety: a vstd_mgmt may be used from any number of threads at once
 * (it has its own lock); a vstd_cim_server serves from its own threads.
 */
#ifndef VSTD_MGMT_H
#define VSTD_MGMT_H

#include "vstd/common.h"
#include "vstd/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vstd_mgmt vstd_mgmt;
typedef struct vstd_cim_server vstd_cim_server;

/* ------------------------------------------------------------ the manager */

#define VSTD_MGMT_OPTS_VERSION 1

typedef struct vstd_mgmt_opts {
	unsigned version;        /* VSTD_MGMT_OPTS_VERSION */
	const char *state_dir;   /* required: where definitions are kept (created if absent) */
	const char *backend;     /* "qemu" (default) or "vmm" */
	const char *qemu_binary; /* NULL: "qemu-system-x86_64" from PATH */
	const char *qemu_accel;  /* NULL: "tcg"; "kvm" when /dev/kvm is usable */
	const char *vmm_program; /* the vstd program whose `vmm run` starts guests (vmm backend) */
	uint64_t max_memory;     /* bytes one system may have; 0: the host's physical memory */
	unsigned max_vcpus;      /* 0: 64 */
	unsigned max_systems;    /* 0: 4096 */
} vstd_mgmt_opts;

#define VSTD_MGMT_OPTS_INIT                                                                        \
	{                                                                                          \
		VSTD_MGMT_OPTS_VERSION, NULL, NULL, NULL, NULL, NULL, 0, 0, 0                      \
	}

/**
 * vstd_mgmt_open - load (or create) the state directory and pick a backend.
 *
 * Running systems recorded by an earlier process are found again (their
 * process and QMP socket are checked).  Errors: VSTD_EINVAL (no state_dir,
 * unknown backend), VSTD_EIO (the directory cannot be created or read),
 * VSTD_EBUSY (another process holds the directory), VSTD_ECORRUPT (a
 * definition file is malformed: it is named in the message and left alone;
 * the others are loaded), VSTD_ENOMEM.
 */
VSTD_API int vstd_mgmt_open(vstd_mgmt **out, const vstd_mgmt_opts *opts);

/** vstd_mgmt_free - forget the handle; running guests keep running.  NULL is a no-op. */
VSTD_API void vstd_mgmt_free(vstd_mgmt *m);

/**
 * vstd_mgmt_backend_check - whether a backend can run guests here.
 * Returns 0, or VSTD_ENOTSUP with the reason in vstd_error_last() (e.g.
 * "the vmm command is not part of this build").
 */
VSTD_API int vstd_mgmt_backend_check(vstd_mgmt *m);

/** A system to define through the C API (the CIM DefineSystem does the same). */
#define VSTD_MGMT_SYSTEM_VERSION 1
typedef struct vstd_mgmt_system {
	unsigned version;         /* VSTD_MGMT_SYSTEM_VERSION */
	const char *name;         /* ElementName; required */
	uint64_t memory;          /* bytes; rounded up to MiB */
	unsigned vcpus;           /* 0: 1 */
	const char *const *disks; /* image paths */
	size_t n_disks;
	unsigned n_nics;    /* user-mode virtio-net NICs */
	const char *kernel; /* optional direct kernel boot */
	const char *cmdline;
} vstd_mgmt_system;

#define VSTD_MGMT_SYSTEM_INIT                                                                      \
	{                                                                                          \
		VSTD_MGMT_SYSTEM_VERSION, NULL, 0, 0, NULL, 0, 0, NULL, NULL                       \
	}

/* A system's identity: a UUID in text form plus NUL. */
#define VSTD_MGMT_ID_LEN 37

/**
 * vstd_mgmt_define - define (not start) a system; id receives its UUID.
 * Errors: VSTD_EINVAL, VSTD_ERANGE (memory or vCPUs beyond the limits),
 * VSTD_ELIMIT (too many systems), VSTD_EIO (the definition could not be
 * written: nothing was defined).
 */
VSTD_API int vstd_mgmt_define(vstd_mgmt *m, const vstd_mgmt_system *sys, char id[VSTD_MGMT_ID_LEN]);

/** vstd_mgmt_destroy - remove a stopped system's definition.  VSTD_ESTATE if it runs. */
VSTD_API int vstd_mgmt_destroy(vstd_mgmt *m, const char *id);

/* CIM EnabledState values used by vstd (CIM_EnabledLogicalElement). */
enum vstd_mgmt_state {
	VSTD_MGMT_ENABLED = 2,  /* running */
	VSTD_MGMT_DISABLED = 3, /* defined, not running */
	VSTD_MGMT_SHUTTING_DOWN = 4,
	VSTD_MGMT_QUIESCE = 9, /* paused */
	VSTD_MGMT_STARTING = 10
};
/* RequestStateChange values (CIM RequestedState). */
enum vstd_mgmt_request {
	VSTD_MGMT_REQ_ENABLED = 2,  /* start, or resume a paused system */
	VSTD_MGMT_REQ_DISABLED = 3, /* power off */
	VSTD_MGMT_REQ_SHUTDOWN = 4, /* ask the guest to shut down, then power off */
	VSTD_MGMT_REQ_QUIESCE = 9,  /* pause */
	VSTD_MGMT_REQ_REBOOT = 10,
	VSTD_MGMT_REQ_RESET = 11
};

/**
 * vstd_mgmt_request_state - change a system's state and wait for it.
 * Errors: VSTD_ENOENT, VSTD_ESTATE (the transition is not valid from the
 * current state), VSTD_EBUSY (another change is running), VSTD_EIO (the
 * backend failed; the message has its words), VSTD_ENOTSUP.
 */
VSTD_API int vstd_mgmt_request_state(vstd_mgmt *m, const char *id, unsigned requested,
                                     unsigned timeout_ms);

/** vstd_mgmt_state - the EnabledState of a system (asks the backend). */
VSTD_API int vstd_mgmt_state(vstd_mgmt *m, const char *id, unsigned *enabled_state);

/** vstd_mgmt_count - the number of defined systems. */
VSTD_API size_t vstd_mgmt_count(vstd_mgmt *m);

/* ------------------------------------------------------------ CIM-XML */

/** The parts of an HTTP request DSP0200 looks at. */
typedef struct vstd_cim_request {
	const char *cim_operation; /* CIMOperation header ("MethodCall") */
	const char *cim_method;    /* CIMMethod header */
	const char *cim_object;    /* CIMObject header (URI-escaped) */
	const void *body;
	size_t len;
} vstd_cim_request;

typedef struct vstd_cim_reply {
	int http_status;       /* 200, 400, 413, ... */
	const char *cim_error; /* CIMError header value, or NULL */
	char *body;            /* CIM-XML (owned; vstd_cim_reply_clear frees) */
	size_t len;
} vstd_cim_reply;

#define VSTD_CIM_MAX_REQUEST (16u << 20)

/**
 * vstd_cim_handle - process one CIM-XML operation request held in memory.
 *
 * The body is parsed with no network access, no entity expansion, no DTD,
 * bounded size (VSTD_CIM_MAX_REQUEST) and depth.  Always fills reply: a
 * CIM error is a 200 response whose body carries <ERROR CODE=...>; a
 * request that is not CIM-XML gets 400 with a CIMError header.  Returns 0,
 * or VSTD_ENOMEM when not even an error reply could be built.
 */
VSTD_API int vstd_cim_handle(vstd_mgmt *m, const vstd_cim_request *req, vstd_cim_reply *reply);

/** vstd_cim_reply_clear - free the body of a reply. */
VSTD_API void vstd_cim_reply_clear(vstd_cim_reply *reply);

/* ------------------------------------------------------------ the server */

#define VSTD_CIM_SERVER_OPTS_VERSION 1

typedef struct vstd_cim_server_opts {
	unsigned version;          /* VSTD_CIM_SERVER_OPTS_VERSION */
	const char *address;       /* NULL: "127.0.0.1" (IPv4 or IPv6 literal) */
	unsigned port;             /* 0: 5989 with TLS, 5988 without */
	const char *tls_cert_file; /* PEM; required unless insecure_http */
	const char *tls_key_file;
	int insecure_http;        /* serve plain HTTP */
	const char *passwd_file;  /* users and salted password hashes (or NULL) */
	unsigned threads;         /* 0: 4 */
	unsigned max_connections; /* 0: 2048 */
	unsigned timeout_s;       /* idle connection timeout; 0: 15 */
	const char *pam_service;  /* Linux-PAM service (/etc/pam.d/<name>) or NULL */
	const char *trace_dir;    /* NULL, or an existing directory that receives every
	                             request and response body (<n>-req.xml, <n>-rsp.xml,
	                             <n>-refused.xml); for tests and debugging */
} vstd_cim_server_opts;

#define VSTD_CIM_SERVER_OPTS_INIT                                                                  \
	{                                                                                          \
		VSTD_CIM_SERVER_OPTS_VERSION, NULL, 0, NULL, NULL, 0, NULL, 0, 0, 0, NULL, NULL    \
	}

/**
 * vstd_cim_server_start - serve CIM-XML (POST /cimom) for m until stopped.
 * Requests need HTTP Basic credentials: found in passwd_file, or (when
 * not there) accepted by the PAM service pam_service (pam_authenticate and
 * pam_acct_mgmt; answers are remembered for 30 s).  At least one of the
 * two is required.  A refused login is logged (warning) with the user name
 * and the peer address, never the password.  Errors:
 * VSTD_EINVAL (missing TLS files without insecure_http, bad address),
 * VSTD_EIO (cannot listen, cannot read the files), VSTD_ENOTSUP (no TLS
 * in the HTTP library).  m must outlive the server.
 */
VSTD_API int vstd_cim_server_start(vstd_cim_server **out, vstd_mgmt *m,
                                   const vstd_cim_server_opts *opts);
/** vstd_cim_server_port - the port the server listens on. */
VSTD_API unsigned vstd_cim_server_port(const vstd_cim_server *s);
/** vstd_cim_server_stop - stop serving and free.  NULL is a no-op. */
VSTD_API void vstd_cim_server_stop(vstd_cim_server *s);

/**
 * vstd_cim_passwd_set - add or change a user in a password file (created
 * 0600 if absent; written atomically).  The password is stored as a salted
 * PBKDF2-HMAC-SHA256 hash.  User names: 1-64 of [A-Za-z0-9._-].
 */
VSTD_API int vstd_cim_passwd_set(const char *file, const char *user, const char *password);

/** vstd_cim_passwd_check - 0 when the password matches, VSTD_EVERIFY when not. */
VSTD_API int vstd_cim_passwd_check(const char *file, const char *user, const char *password);

/* ------------------------------------------------------------ the client */

typedef struct vstd_cim_client vstd_cim_client;

#define VSTD_CIM_CLIENT_OPTS_VERSION 1

typedef struct vstd_cim_client_opts {
	unsigned version;    /* VSTD_CIM_CLIENT_OPTS_VERSION */
	const char *host;    /* IP literal or name; NULL: 127.0.0.1 */
	unsigned port;       /* 0: 5989 with TLS, 5988 without */
	int tls;             /* HTTPS */
	int no_verify;       /* accept any server certificate (tests only) */
	const char *ca_file; /* PEM CA bundle to verify the server (NULL: system default) */
	const char *user;
	const char *password;
	unsigned timeout_ms; /* per request; 0: 30000 */
} vstd_cim_client_opts;

#define VSTD_CIM_CLIENT_OPTS_INIT                                                                  \
	{                                                                                          \
		VSTD_CIM_CLIENT_OPTS_VERSION, NULL, 0, 0, 0, NULL, NULL, NULL, 0                   \
	}

/**
 * vstd_cim_client_open - a CIM-XML client with one keep-alive connection
 * (opened lazily, reopened when the server closed it).  Errors: VSTD_EINVAL.
 */
VSTD_API int vstd_cim_client_open(vstd_cim_client **out, const vstd_cim_client_opts *opts);
/** vstd_cim_client_close - close and free; NULL is a no-op. */
VSTD_API void vstd_cim_client_close(vstd_cim_client *c);

/**
 * vstd_cim_client_call - POST one CIM-XML request (body) with the DSP0200
 * headers CIMMethod/CIMObject; *resp (owned, free with
 * vstd_cim_reply_clear semantics: vstd_cim_client_free_buffer) receives the
 * body.  Returns 0 with *http_status set, or VSTD_EIO (connection, TLS,
 * timeout), VSTD_ELIMIT (response over 64 MiB), VSTD_ECORRUPT (not HTTP).
 */
VSTD_API int vstd_cim_client_call(vstd_cim_client *c, const char *cim_method,
                                  const char *cim_object, const char *body, size_t len,
                                  int *http_status, char **resp, size_t *resp_len);
VSTD_API void vstd_cim_client_free_buffer(void *p);

/** A virtual system as the client lists it. */
typedef struct vstd_cim_system_info {
	char id[VSTD_MGMT_ID_LEN];
	char name[256];
	unsigned enabled_state;
	unsigned requested_state;
} vstd_cim_system_info;

/**
 * The operations behind `vstd cim ls/define/start/stop/modify/destroy`.
 * CIM errors come back as VSTD_ENOENT (NOT_FOUND), VSTD_EINVAL
 * (INVALID_PARAMETER), VSTD_EEXIST, VSTD_ENOTSUP, VSTD_ERROR, with the
 * server's description in vstd_error_last().  *list is freed with
 * vstd_cim_client_free_buffer.
 */
VSTD_API int vstd_cim_client_systems(vstd_cim_client *c, vstd_cim_system_info **list, size_t *n);
VSTD_API int vstd_cim_client_define_ovf(vstd_cim_client *c, const char *ovf_text,
                                        char id[VSTD_MGMT_ID_LEN]);
/* Request a state and wait up to timeout_ms for its job (0: do not wait). */
VSTD_API int vstd_cim_client_request_state(vstd_cim_client *c, const char *id, unsigned state,
                                           unsigned timeout_ms);
VSTD_API int vstd_cim_client_destroy(vstd_cim_client *c, const char *id);
/* Change name (NULL: keep), memory in MiB and processors (0: keep). */
VSTD_API int vstd_cim_client_modify(vstd_cim_client *c, const char *id, const char *name,
                                    uint64_t memory_mib, unsigned vcpus);

#ifdef __cplusplus
}
#endif

#endif /* VSTD_MGMT_H */
