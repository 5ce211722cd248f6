/*
 * mgmt/model/classes.c - the VSTD_ classes: what each profile (DSP1042,
 * DSP1057, DSP1041, DSP1043, DSP1045, DSP1047, DSP1050, DSP1052) asks a
 * virtualization implementation to expose, with the CIM types and keys of
 * the DMTF classes they derive from (see docs/mgmt.md for the mapping).
 */
#include <string.h>
#include <strings.h>

#include "mgmt/model/model.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define KEY(n, d)                                                                                  \
	{                                                                                          \
		n, CIM_T_STRING, CIM_F_KEY, NULL, d, NULL, NULL                                    \
	}
#define STR(n, d)                                                                                  \
	{                                                                                          \
		n, CIM_T_STRING, 0, NULL, d, NULL, NULL                                            \
	}
#define STRW(n, d)                                                                                 \
	{                                                                                          \
		n, CIM_T_STRING, CIM_F_WRITE, NULL, d, NULL, NULL                                  \
	}
#define STRA(n, d)                                                                                 \
	{                                                                                          \
		n, CIM_T_STRING, CIM_F_ARRAY, NULL, d, NULL, NULL                                  \
	}
#define U16(n, d, vm, vs)                                                                          \
	{                                                                                          \
		n, CIM_T_UINT16, 0, NULL, d, vm, vs                                                \
	}
#define U16A(n, d, vm, vs)                                                                         \
	{                                                                                          \
		n, CIM_T_UINT16, CIM_F_ARRAY, NULL, d, vm, vs                                      \
	}
#define U32(n, d)                                                                                  \
	{                                                                                          \
		n, CIM_T_UINT32, 0, NULL, d, NULL, NULL                                            \
	}
#define U64(n, d)                                                                                  \
	{                                                                                          \
		n, CIM_T_UINT64, 0, NULL, d, NULL, NULL                                            \
	}
#define BOOL(n, d)                                                                                 \
	{                                                                                          \
		n, CIM_T_BOOLEAN, 0, NULL, d, NULL, NULL                                           \
	}
#define DT(n, d)                                                                                   \
	{                                                                                          \
		n, CIM_T_DATETIME, 0, NULL, d, NULL, NULL                                          \
	}
#define REFKEY(n, c, d)                                                                            \
	{                                                                                          \
		n, CIM_T_REF, CIM_F_KEY, c, d, NULL, NULL                                          \
	}

#define MANAGED_ELEMENT                                                                            \
	STR("Caption", "A short one-line description of the object."),                             \
	        STR("Description", "A description of the object."),                                \
	        STRW("ElementName", "A user-friendly name for the object.")

#define ENABLED_STATE_VM "0,1,2,3,4,5,6,7,8,9,10,11"
#define ENABLED_STATE_VS                                                                           \
	"Unknown|Other|Enabled|Disabled|Shutting Down|Not Applicable|Enabled but Offline|"         \
	"In Test|Deferred|Quiesce|Starting|DMTF Reserved"
#define REQ_STATE_VM "0,2,3,4,5,6,7,8,9,10,11,12"
#define REQ_STATE_VS                                                                               \
	"Unknown|Enabled|Disabled|Shut Down|No Change|Offline|Test|Deferred|Quiesce|Reboot|"       \
	"Reset|Not Applicable"
#define OPSTATUS_VM "0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19"
#define OPSTATUS_VS                                                                                \
	"Unknown|Other|OK|Degraded|Stressed|Predictive Failure|Error|Non-Recoverable Error|"       \
	"Starting|Stopping|Stopped|In Service|No Contact|Lost Communication|Aborted|Dormant|"      \
	"Supporting Entity in Error|Completed|Power Mode|Relocating"

#define COMPUTER_SYSTEM_PROPS                                                                      \
	KEY("CreationClassName", "The class of this instance."),                                   \
	        KEY("Name", "The identity of the system (a UUID for virtual systems)."),           \
	        MANAGED_ELEMENT, STR("NameFormat", "How Name was formed."),                        \
	        U16A("OperationalStatus", "Current status of the element.", OPSTATUS_VM,           \
	             OPSTATUS_VS),                                                                 \
	        U16("HealthState", "Health of the element.", "0,5,10,15,20,25,30",                 \
	            "Unknown|OK|Degraded/Warning|Minor failure|Major failure|Critical failure|"    \
	            "Non-recoverable error"),                                                      \
	        U16("EnabledState", "The enabled and disabled states of the element.",             \
	            ENABLED_STATE_VM, ENABLED_STATE_VS),                                           \
	        U16("RequestedState", "The last requested or desired state.", REQ_STATE_VM,        \
	            REQ_STATE_VS),                                                                 \
	        U16("EnabledDefault", "The default startup state.", "2,3,5,6,7,9",                 \
	            "Enabled|Disabled|Not Applicable|Enabled but Offline|No Default|Quiesce"),     \
	        DT("TimeOfLastStateChange", "When EnabledState last changed."),                    \
	        U16A("Dedicated", "The purposes the system is dedicated to.", NULL, NULL),         \
	        STRA("OtherIdentifyingInfo", "Additional identity data."),                         \
	        STRA("IdentifyingDescriptions", "What OtherIdentifyingInfo holds.")

static const char *const p_cs[] = {"CIM_System",         "CIM_EnabledLogicalElement",
                                   "CIM_LogicalElement", "CIM_ManagedSystemElement",
                                   "CIM_ManagedElement", NULL};
static const char *const p_sd[] = {"CIM_SettingData", "CIM_ManagedElement", NULL};
static const char *const p_sasd[] = {"CIM_ResourceAllocationSettingData", "CIM_SettingData",
                                     "CIM_ManagedElement", NULL};
static const char *const p_pool[] = {"CIM_LogicalElement", "CIM_ManagedSystemElement",
                                     "CIM_ManagedElement", NULL};
static const char *const p_svc[] = {"CIM_Service",        "CIM_EnabledLogicalElement",
                                    "CIM_LogicalElement", "CIM_ManagedSystemElement",
                                    "CIM_ManagedElement", NULL};
static const char *const p_cap[] = {"CIM_ManagedElement", NULL};
static const char *const p_job[] = {"CIM_Job", "CIM_LogicalElement", "CIM_ManagedSystemElement",
                                    "CIM_ManagedElement", NULL};
static const char *const p_none[] = {NULL};
static const char *const p_dep[] = {"CIM_Dependency", NULL};
static const char *const p_comp[] = {"CIM_Component", NULL};

/* ------------------------------------------------------------ systems */

static const struct cim_prop host_props[] = {COMPUTER_SYSTEM_PROPS};
static const struct cim_class host_class = {
        "VSTD_HostSystem",
        "CIM_ComputerSystem",
        p_cs,
        "The host computer system on which virtual systems run.",
        "DSP1042 System Virtualization",
        0,
        host_props,
        N(host_props),
        NULL,
        0};

static const struct cim_prop rsc_params[] = {
        {"RequestedState", CIM_T_UINT16, CIM_F_IN, NULL, "The state requested.", REQ_STATE_VM,
         REQ_STATE_VS},
        {"Job", CIM_T_REF, CIM_F_OUT, "VSTD_ConcreteJob", "The job tracking the change.", NULL,
         NULL},
        {"TimeoutPeriod", CIM_T_DATETIME, CIM_F_IN, NULL, "Maximum time for the transition.", NULL,
         NULL},
};
static const struct cim_method cs_methods[] = {
        {"RequestStateChange", CIM_T_UINT32, rsc_params, N(rsc_params),
         "Change the state of the virtual system (DSP1057 8.2)."},
};
static const struct cim_prop cs_props[] = {COMPUTER_SYSTEM_PROPS};
static const struct cim_class cs_class = {"VSTD_ComputerSystem",
                                          "CIM_ComputerSystem",
                                          p_cs,
                                          "A virtual system managed by vstd (QEMU or vmm backend).",
                                          "DSP1057 Virtual System, DSP1052 Computer System",
                                          0,
                                          cs_props,
                                          N(cs_props),
                                          cs_methods,
                                          N(cs_methods)};

/* ------------------------------------------------------------ settings */

static const struct cim_prop vssd_props[] = {
        KEY("InstanceID", "Opaque unique identity of the settings."),
        MANAGED_ELEMENT,
        STR("VirtualSystemIdentifier", "The identity of the virtual system (its UUID)."),
        STR("VirtualSystemType", "The virtualization type, e.g. \"vstd-qemu\" or \"vstd-vmm\"."),
        STRA("Notes", "End-user notes."),
        DT("CreationTime", "When the settings were created."),
        STR("ConfigurationID", "The configuration identity."),
        STR("ConfigurationDataRoot", "Where the definition is stored."),
        U16("AutomaticStartupAction", "What happens when the host starts.", "2,3,4",
            "None|Restart if previously active|Always startup"),
        U16("AutomaticShutdownAction", "What happens when the host stops.", "2,3,4",
            "Turn Off|Save state|Shutdown"),
        STR("KernelPath", "vstd: a Linux kernel to boot directly (optional)."),
        STR("KernelCommandLine", "vstd: the kernel command line."),
};
static const struct cim_class vssd_class = {"VSTD_VirtualSystemSettingData",
                                            "CIM_VirtualSystemSettingData",
                                            p_sd,
                                            "The settings of a virtual system.",
                                            "DSP1057 Virtual System",
                                            0,
                                            vssd_props,
                                            N(vssd_props),
                                            NULL,
                                            0};

#define RASD_PROPS                                                                                 \
	KEY("InstanceID", "Opaque unique identity of the settings."), MANAGED_ELEMENT,             \
	        U16("ResourceType", "The type of resource.",                                       \
	            "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,"  \
	            "29,30,31,32,33",                                                              \
	            "Other|Computer System|Processor|Memory|IDE Controller|Parallel SCSI HBA|FC "  \
	            "HBA|"                                                                         \
	            "iSCSI HBA|IB HCA|Ethernet Adapter|Other Network Adapter|I/O Slot|I/O Device|" \
	            "Floppy Drive|CD Drive|DVD drive|Disk Drive|Tape Drive|Storage Extent|"        \
	            "Other storage device|Serial port|Parallel port|USB Controller|Graphics "      \
	            "controller|IEEE 1394 Controller|Partitionable Unit|Base Partitionable Unit|"  \
	            "Power|Cooling Capacity|Ethernet Switch Port|Logical Disk|Storage Volume|"     \
	            "Ethernet Connection"),                                                        \
	        STR("OtherResourceType", "The type when ResourceType is Other."),                  \
	        STR("ResourceSubType", "A vendor-specific sub-type (e.g. the device model)."),     \
	        STR("PoolID", "The pool the resource is allocated from."),                         \
	        U16("ConsumerVisibility",                                                          \
	            "Whether the resource is passed through or virtualized.", "0,2,3,4",           \
	            "Unknown|Passed-Through|Virtualized|Not represented"),                         \
	        STRA("HostResource",                                                               \
	             "The host resources backing the allocation (e.g. an image path)."),           \
	        STR("AllocationUnits", "Units of VirtualQuantity, Reservation and Limit (DSP0004 " \
	                               "programmatic units)."),                                    \
	        U64("VirtualQuantity", "The quantity seen by the virtual system."),                \
	        U64("Reservation", "The amount guaranteed."),                                      \
	        U64("Limit", "The maximum amount granted."), U32("Weight", "Relative priority."),  \
	        BOOL("AutomaticAllocation", "Allocated when the system starts."),                  \
	        BOOL("AutomaticDeallocation", "Released when the system stops."),                  \
	        STR("Parent", "InstanceID of the parent (controller) allocation."),                \
	        STRA("Connection", "Network names the resource connects to."),                     \
	        STR("Address", "The address of the resource (e.g. a MAC address)."),               \
	        STR("AddressOnParent", "The position on the parent controller."),                  \
	        STR("VirtualQuantityUnits", "Units of VirtualQuantity.")

static const struct cim_prop rasd_props[] = {RASD_PROPS};
static const struct cim_class rasd_class = {"VSTD_ResourceAllocationSettingData",
                                            "CIM_ResourceAllocationSettingData",
                                            p_sd,
                                            "Processor and memory allocated to a virtual system.",
                                            "DSP1041 Resource Allocation, DSP1045 Memory",
                                            0,
                                            rasd_props,
                                            N(rasd_props),
                                            NULL,
                                            0};

static const struct cim_prop sasd_props[] = {
        RASD_PROPS,
        U64("VirtualResourceBlockSize", "Block size seen by the virtual system."),
        U16("Access", "Access granted.", "0,1,2,3",
            "Unknown|Readable|Writeable|Read/Write Supported"),
        U64("HostResourceBlockSize", "Block size of the host resource."),
        U64("HostExtentStartingAddress", "Where the extent starts on the host resource."),
        STR("HostExtentName", "Name of the host extent."),
};
static const struct cim_class sasd_class = {
        "VSTD_StorageAllocationSettingData",
        "CIM_StorageAllocationSettingData",
        p_sasd,
        "A virtual disk: a disk image allocated to a virtual system.",
        "DSP1047 Storage Resource Virtualization",
        0,
        sasd_props,
        N(sasd_props),
        NULL,
        0};

static const struct cim_prop epasd_props[] = {
        RASD_PROPS,
        U16("DesiredVLANEndpointMode", "VLAN mode.", "0,1,2,3,4,5",
            "Unknown|Other|Access|Trunk|"
            "Dynamic|Dynamic Auto"),
        STRA("AllowedPriorities", "Allowed 802.1p priorities."),
        STRA("AllowedToReceiveMACAddresses", "MACs the port may receive for."),
        STRA("AllowedToTransmitMACAddresses", "MACs the port may transmit as."),
        STR("NetworkPortProfileID", "The port profile."),
};
static const struct cim_class epasd_class = {"VSTD_EthernetPortAllocationSettingData",
                                             "CIM_EthernetPortAllocationSettingData",
                                             p_sasd,
                                             "A virtual Ethernet port of a virtual system.",
                                             "DSP1050 Ethernet Port Resource Virtualization",
                                             0,
                                             epasd_props,
                                             N(epasd_props),
                                             NULL,
                                             0};

/* ------------------------------------------------------------ pools, capabilities */

static const struct cim_prop pool_props[] = {
        KEY("InstanceID", "Opaque unique identity of the pool."),
        MANAGED_ELEMENT,
        STR("PoolID", "The identity of the pool."),
        BOOL("Primordial", "True for pools that represent host capacity."),
        U64("Capacity", "The total capacity, in AllocationUnits."),
        U64("Reserved", "Capacity reserved by defined systems."),
        U16("ResourceType", "The type of resource in the pool.", NULL, NULL),
        STR("OtherResourceType", "The type when ResourceType is Other."),
        STR("ResourceSubType", "The sub-type."),
        STR("AllocationUnits", "Units of Capacity and Reserved."),
        U16A("OperationalStatus", "Current status.", OPSTATUS_VM, OPSTATUS_VS),
};
static const struct cim_class pool_class = {
        "VSTD_ResourcePool",
        "CIM_ResourcePool",
        p_pool,
        "A primordial pool of host resources (processors, memory, storage, network).",
        "DSP1041 Resource Allocation",
        0,
        pool_props,
        N(pool_props),
        NULL,
        0};

static const struct cim_prop alloccap_props[] = {
        KEY("InstanceID", "Opaque unique identity."),
        MANAGED_ELEMENT,
        U16("ResourceType", "The type of resource.", NULL, NULL),
        STR("OtherResourceType", "The type when ResourceType is Other."),
        STR("ResourceSubType", "The sub-type."),
        U16("RequestTypesSupported", "How allocations are requested.", "0,1,2,3",
            "Unknown|Other|Specific|General"),
        U16("SharingMode", "How resources are shared.", "0,1,2,3",
            "Unknown|Other|Dedicated|Shared"),
        U16A("SupportedAddStates", "States in which resources may be added.", NULL, NULL),
        U16A("SupportedRemoveStates", "States in which resources may be removed.", NULL, NULL),
};
static const struct cim_class alloccap_class = {"VSTD_AllocationCapabilities",
                                                "CIM_AllocationCapabilities",
                                                p_cap,
                                                "What may be allocated from a pool.",
                                                "DSP1043 Allocation Capabilities",
                                                0,
                                                alloccap_props,
                                                N(alloccap_props),
                                                NULL,
                                                0};

static const struct cim_prop vsmcap_props[] = {
        KEY("InstanceID", "Opaque unique identity."),
        MANAGED_ELEMENT,
        U16A("SynchronousMethodsSupported", "Methods that complete synchronously.",
             "0,1,2,3,4,5,6,7,8",
             "DefineSystem|DestroySystem|AddResourceSettings|"
             "ModifyResourceSettings|ModifySystemSettings|RemoveResourceSettings|"
             "DefineSystem with OVF|Snapshot|Migrate"),
        U16A("AsynchronousMethodsSupported", "Methods that may return a job.", "0,1,2,3,4,5",
             "DefineSystem|DestroySystem|AddResourceSettings|ModifyResourceSettings|"
             "ModifySystemSettings|RemoveResourceSettings"),
        STRA("VirtualSystemTypesSupported", "The VirtualSystemType values accepted."),
};
static const struct cim_class vsmcap_class = {
        "VSTD_VirtualSystemManagementCapabilities",
        "CIM_VirtualSystemManagementCapabilities",
        p_cap,
        "What the virtual system management service supports.",
        "DSP1042 System Virtualization",
        0,
        vsmcap_props,
        N(vsmcap_props),
        NULL,
        0};

static const struct cim_prop elecap_props[] = {
        KEY("InstanceID", "Opaque unique identity."),
        MANAGED_ELEMENT,
        U16A("RequestedStatesSupported", "States RequestStateChange accepts.", REQ_STATE_VM,
             REQ_STATE_VS),
        BOOL("ElementNameEditSupported", "Whether ElementName can be changed."),
        U16("MaxElementNameLen", "Longest ElementName.", NULL, NULL),
};
static const struct cim_class elecap_class = {"VSTD_EnabledLogicalElementCapabilities",
                                              "CIM_EnabledLogicalElementCapabilities",
                                              p_cap,
                                              "The state changes a virtual system supports.",
                                              "DSP1057 Virtual System",
                                              0,
                                              elecap_props,
                                              N(elecap_props),
                                              NULL,
                                              0};

static const struct cim_prop profile_props[] = {
        KEY("InstanceID", "Opaque unique identity."),
        MANAGED_ELEMENT,
        U16("RegisteredOrganization", "The organization that defines the profile.", "1,2",
            "Other|DMTF"),
        STR("RegisteredName", "The name of the profile."),
        STR("RegisteredVersion", "The version of the profile."),
        U16A("AdvertiseTypes", "How the profile is advertised.", "1,2,3",
             "Other|Not Advertised|SLP"),
};
static const struct cim_class profile_class = {"VSTD_RegisteredProfile",
                                               "CIM_RegisteredProfile",
                                               p_cap,
                                               "A DMTF profile this server implements.",
                                               "DSP1033 Profile Registration",
                                               0,
                                               profile_props,
                                               N(profile_props),
                                               NULL,
                                               0};

/* ------------------------------------------------------------ service, jobs */

static const struct cim_prop define_params[] = {
        {"SystemSettings", CIM_T_STRING, CIM_F_IN | CIM_F_EMBEDDED, "VSTD_VirtualSystemSettingData",
         "The VSSD of the new system, as an embedded instance.", NULL, NULL},
        {"ResourceSettings", CIM_T_STRING, CIM_F_IN | CIM_F_ARRAY | CIM_F_EMBEDDED,
         "CIM_ResourceAllocationSettingData", "RASDs of the new system, as embedded instances.",
         NULL, NULL},
        {"ReferenceConfiguration", CIM_T_REF, CIM_F_IN, "VSTD_VirtualSystemSettingData",
         "A configuration to copy (not supported).", NULL, NULL},
        {"ResultingSystem", CIM_T_REF, CIM_F_OUT, "VSTD_ComputerSystem", "The new system.", NULL,
         NULL},
        {"Job", CIM_T_REF, CIM_F_OUT, "VSTD_ConcreteJob", "Job, when 4096 is returned.", NULL,
         NULL},
};
static const struct cim_prop define_ovf_params[] = {
        {"OVFDescriptor", CIM_T_STRING, CIM_F_IN, NULL, "The text of an OVF descriptor (DSP0243).",
         NULL, NULL},
        {"PackagePath", CIM_T_STRING, CIM_F_IN, NULL,
         "Absolute path on the server of an .ovf file, an .ova, or a package directory (then "
         "with OVFDescriptor): disk host resources (ovf:/disk/, ovf:/file/) are resolved to "
         "the package's files.",
         NULL, NULL},
        {"VirtualSystemID", CIM_T_STRING, CIM_F_IN, NULL,
         "Which VirtualSystem of the descriptor (default: the first).", NULL, NULL},
        {"ResultingSystem", CIM_T_REF, CIM_F_OUT, "VSTD_ComputerSystem", "The new system.", NULL,
         NULL},
        {"Job", CIM_T_REF, CIM_F_OUT, "VSTD_ConcreteJob", "Job, when 4096 is returned.", NULL,
         NULL},
};
static const struct cim_prop destroy_params[] = {
        {"AffectedSystem", CIM_T_REF, CIM_F_IN, "VSTD_ComputerSystem", "The system to destroy.",
         NULL, NULL},
        {"Job", CIM_T_REF, CIM_F_OUT, "VSTD_ConcreteJob", "Job, when 4096 is returned.", NULL,
         NULL},
};
static const struct cim_prop add_params[] = {
        {"AffectedConfiguration", CIM_T_REF, CIM_F_IN, "VSTD_VirtualSystemSettingData",
         "The VSSD of the system to add resources to.", NULL, NULL},
        {"ResourceSettings", CIM_T_STRING, CIM_F_IN | CIM_F_ARRAY | CIM_F_EMBEDDED,
         "CIM_ResourceAllocationSettingData", "RASDs to add, as embedded instances.", NULL, NULL},
        {"ResultingResourceSettings", CIM_T_REF, CIM_F_OUT | CIM_F_ARRAY,
         "CIM_ResourceAllocationSettingData", "The RASDs created.", NULL, NULL},
        {"Job", CIM_T_REF, CIM_F_OUT, "VSTD_ConcreteJob", "Job, when 4096 is returned.", NULL,
         NULL},
};
static const struct cim_prop modres_params[] = {
        {"ResourceSettings", CIM_T_STRING, CIM_F_IN | CIM_F_ARRAY | CIM_F_EMBEDDED,
         "CIM_ResourceAllocationSettingData", "Changed RASDs (InstanceID selects each).", NULL,
         NULL},
        {"ResultingResourceSettings", CIM_T_REF, CIM_F_OUT | CIM_F_ARRAY,
         "CIM_ResourceAllocationSettingData", "The RASDs changed.", NULL, NULL},
        {"Job", CIM_T_REF, CIM_F_OUT, "VSTD_ConcreteJob", "Job, when 4096 is returned.", NULL,
         NULL},
};
static const struct cim_prop rmres_params[] = {
        {"ResourceSettings", CIM_T_REF, CIM_F_IN | CIM_F_ARRAY, "CIM_ResourceAllocationSettingData",
         "The RASDs to remove.", NULL, NULL},
        {"Job", CIM_T_REF, CIM_F_OUT, "VSTD_ConcreteJob", "Job, when 4096 is returned.", NULL,
         NULL},
};
static const struct cim_prop modsys_params[] = {
        {"SystemSettings", CIM_T_STRING, CIM_F_IN | CIM_F_EMBEDDED, "VSTD_VirtualSystemSettingData",
         "The changed VSSD (InstanceID selects the system).", NULL, NULL},
        {"Job", CIM_T_REF, CIM_F_OUT, "VSTD_ConcreteJob", "Job, when 4096 is returned.", NULL,
         NULL},
};
static const struct cim_method vsms_methods[] = {
        {"DefineSystem", CIM_T_UINT32, define_params, N(define_params),
         "Define a virtual system from a VSSD and RASDs (DSP1042 8.3.1)."},
        {"DefineSystemFromOVF", CIM_T_UINT32, define_ovf_params, N(define_ovf_params),
         "vstd extension: define a virtual system from an OVF descriptor."},
        {"DestroySystem", CIM_T_UINT32, destroy_params, N(destroy_params),
         "Destroy a defined virtual system (DSP1042 8.3.2)."},
        {"AddResourceSettings", CIM_T_UINT32, add_params, N(add_params),
         "Add resources to a virtual system (DSP1042 8.3.3)."},
        {"ModifyResourceSettings", CIM_T_UINT32, modres_params, N(modres_params),
         "Change resources of a virtual system (DSP1042 8.3.4)."},
        {"ModifySystemSettings", CIM_T_UINT32, modsys_params, N(modsys_params),
         "Change the settings of a virtual system (DSP1042 8.3.5)."},
        {"RemoveResourceSettings", CIM_T_UINT32, rmres_params, N(rmres_params),
         "Remove resources from a virtual system (DSP1042 8.3.6)."},
};
static const struct cim_prop vsms_props[] = {
        KEY("SystemCreationClassName", "The class of the hosting system."),
        KEY("SystemName", "The name of the hosting system."),
        KEY("CreationClassName", "The class of this instance."),
        KEY("Name", "The name of the service."),
        MANAGED_ELEMENT,
        U16("EnabledState", "The enabled state of the service.", ENABLED_STATE_VM,
            ENABLED_STATE_VS),
        U16A("OperationalStatus", "Current status.", OPSTATUS_VM, OPSTATUS_VS),
        BOOL("Started", "Whether the service is running."),
};
static const struct cim_class vsms_class = {"VSTD_VirtualSystemManagementService",
                                            "CIM_VirtualSystemManagementService",
                                            p_svc,
                                            "Defines, modifies and destroys virtual systems.",
                                            "DSP1042 System Virtualization",
                                            0,
                                            vsms_props,
                                            N(vsms_props),
                                            vsms_methods,
                                            N(vsms_methods)};

static const struct cim_prop job_props[] = {
        KEY("InstanceID", "Opaque unique identity of the job."),
        MANAGED_ELEMENT,
        STR("Name", "The operation the job performs."),
        U16("JobState", "The state of the job.", "2,3,4,5,6,7,8,9,10,11,12",
            "New|Starting|Running|Suspended|Shutting Down|Completed|Terminated|Killed|Exception|"
            "Service|Query Pending"),
        U16("PercentComplete", "Progress, 0..100.", NULL, NULL),
        U16("ErrorCode", "The failure code, 0 when none.", NULL, NULL),
        STR("ErrorDescription", "What went wrong."),
        DT("TimeSubmitted", "When the job was created."),
        DT("StartTime", "When the job started."),
        DT("TimeOfLastStateChange", "When JobState last changed."),
        STR("JobStatus", "Free-form status."),
        BOOL("DeleteOnCompletion", "Whether the job disappears once done."),
        U16A("OperationalStatus", "Current status.", OPSTATUS_VM, OPSTATUS_VS),
};
static const struct cim_class job_class = {
        "VSTD_ConcreteJob",
        "CIM_ConcreteJob",
        p_job,
        "Long-running work started by a method that returned 4096.",
        "DSP1042 System Virtualization",
        0,
        job_props,
        N(job_props),
        NULL,
        0};

/* ------------------------------------------------------------ associations */

#define ASSOC_CLASS(var, cname, sup, parents, desc, prof)                                          \
	static const struct cim_class var##_class = {                                              \
	        cname, sup, parents, desc, prof, 1, var##_props, N(var##_props), NULL, 0}
#define ASSOC(var, cname, sup, parents, desc, prof, r1, c1, r2, c2)                                \
	static const struct cim_prop var##_props[] = {REFKEY(r1, c1, "One end."),                  \
	                                              REFKEY(r2, c2, "The other end.")};           \
	ASSOC_CLASS(var, cname, sup, parents, desc, prof)

ASSOC(hdep, "VSTD_HostedDependency", "CIM_HostedDependency", p_dep,
      "A virtual system is hosted on the host system.", "DSP1042", "Antecedent", "VSTD_HostSystem",
      "Dependent", "VSTD_ComputerSystem");
ASSOC(sds, "VSTD_SettingsDefineState", "CIM_SettingsDefineState", p_none,
      "The settings that define the current state of a virtual system.", "DSP1057",
      "ManagedElement", "VSTD_ComputerSystem", "SettingData", "VSTD_VirtualSystemSettingData");
ASSOC(vssdc, "VSTD_VirtualSystemSettingDataComponent", "CIM_VirtualSystemSettingDataComponent",
      p_comp, "The resource allocations that make up a virtual system's settings.", "DSP1057",
      "GroupComponent", "VSTD_VirtualSystemSettingData", "PartComponent",
      "CIM_ResourceAllocationSettingData");
static const struct cim_prop esd_props[] = {
        REFKEY("ManagedElement", "VSTD_ComputerSystem", "The virtual system."),
        REFKEY("SettingData", "VSTD_VirtualSystemSettingData", "Its settings."),
        U16("IsDefault", "Whether these are the default settings.", "0,1,2",
            "Unknown|Is Default|Is Not Default"),
        U16("IsCurrent", "Whether these are the current settings.", "0,1,2",
            "Unknown|Is Current|Is Not Current"),
};
ASSOC_CLASS(esd, "VSTD_ElementSettingData", "CIM_ElementSettingData", p_none,
            "The settings of a virtual system.", "DSP1057");
ASSOC(hsvc, "VSTD_HostedService", "CIM_HostedService", p_dep,
      "The management service runs on the host.", "DSP1042", "Antecedent", "VSTD_HostSystem",
      "Dependent", "VSTD_VirtualSystemManagementService");
ASSOC(hpool, "VSTD_HostedResourcePool", "CIM_HostedResourcePool", p_comp,
      "Pools of host resources.", "DSP1041", "GroupComponent", "VSTD_HostSystem", "PartComponent",
      "VSTD_ResourcePool");
ASSOC(ecap, "VSTD_ElementCapabilities", "CIM_ElementCapabilities", p_none,
      "Capabilities of a service, pool or virtual system.", "DSP1042/DSP1043/DSP1057",
      "ManagedElement", "CIM_ManagedElement", "Capabilities", "CIM_Capabilities");
ASSOC(aje, "VSTD_AffectedJobElement", "CIM_AffectedJobElement", p_none,
      "The element a job works on.", "DSP1042", "AffectedElement", "CIM_ManagedElement",
      "AffectingElement", "VSTD_ConcreteJob");
ASSOC(salloc, "VSTD_ResourceAllocationFromPool", "CIM_ResourceAllocationFromPool", p_dep,
      "Allocations taken from a pool.", "DSP1041", "Antecedent", "VSTD_ResourcePool", "Dependent",
      "CIM_ResourceAllocationSettingData");

const struct cim_class *const cim_classes[] = {&host_class,
                                               &cs_class,
                                               &vssd_class,
                                               &rasd_class,
                                               &sasd_class,
                                               &epasd_class,
                                               &pool_class,
                                               &alloccap_class,
                                               &vsmcap_class,
                                               &elecap_class,
                                               &profile_class,
                                               &vsms_class,
                                               &job_class,
                                               &hdep_class,
                                               &sds_class,
                                               &vssdc_class,
                                               &esd_class,
                                               &hsvc_class,
                                               &hpool_class,
                                               &ecap_class,
                                               &aje_class,
                                               &salloc_class,
                                               NULL};

const struct cim_class *cim_class_find(const char *name)
{
	if (name == NULL)
		return NULL;
	for (size_t i = 0; cim_classes[i]; i++)
		if (strcasecmp(cim_classes[i]->name, name) == 0)
			return cim_classes[i];
	return NULL;
}

int cim_class_is_a(const struct cim_class *cls, const char *name)
{
	if (strcasecmp(cls->name, name) == 0 || strcasecmp(cls->superclass, name) == 0)
		return 1;
	for (size_t i = 0; cls->parents[i]; i++)
		if (strcasecmp(cls->parents[i], name) == 0)
			return 1;
	return 0;
}

int cim_class_known(const char *name)
{
	for (size_t i = 0; cim_classes[i]; i++)
		if (cim_class_is_a(cim_classes[i], name))
			return 1;
	return 0;
}

int cim_prop_index(const struct cim_class *cls, const char *name)
{
	/* the first letter, case folded, rules most properties out cheaply */
	unsigned char f = (unsigned char)(name[0] | 0x20);
	for (size_t i = 0; i < cls->n_props; i++) {
		const char *pn = cls->props[i].name;
		if (pn && (unsigned char)(pn[0] | 0x20) == f && strcasecmp(pn, name) == 0)
			return (int)i;
	}
	return -1;
}

const struct cim_method *cim_method_find(const struct cim_class *cls, const char *name)
{
	for (size_t i = 0; i < cls->n_methods; i++)
		if (strcasecmp(cls->methods[i].name, name) == 0)
			return &cls->methods[i];
	return NULL;
}

static const char *const type_names[] = {"string", "boolean", "uint8",  "uint16",   "uint32",
                                         "uint64", "sint32",  "sint64", "datetime", "reference"};

const char *cim_type_name(int type)
{
	return type >= 0 && type <= CIM_T_REF ? type_names[type] : "string";
}

int cim_type_parse(const char *name)
{
	for (int i = 0; i <= CIM_T_REF; i++)
		if (strcasecmp(type_names[i], name) == 0)
			return i;
	return -1;
}
