/*
 * Named objects (ob/directory.c): the object namespace, as far as kmhost
 * has one. It is a tree of object directories rooted at "\", holding
 * \BaseNamedObjects, where named events, semaphores and mutants live.
 *
 * The Zw/Nt create and open routines of the executive's object types use
 * these instead of ObpInsertHandle when ObjectAttributes may carry a name.
 */
#ifndef KM_OB_DIRECTORY_H
#define KM_OB_DIRECTORY_H

#include "ob/ob.h"

/* OBJECT_HEADER.Flags: the object was inserted under a name. Set before its
   first handle exists, never cleared; read without the namespace lock. */
#define OBP_FLAG_NAMED 0x00000001u

/* The access a handle is granted for DesiredAccess: GENERIC_* mapped through
   the type, MAXIMUM_ALLOWED as everything the type has (KernelMode callers
   are not access-checked). */
ACCESS_MASK ObpGrantedAccess(POBJECT_TYPE Type, ACCESS_MASK DesiredAccess);

/*
 * Inserts a new object (PointerCount 1: the creator's reference, which the
 * handle takes over) under the name in ObjectAttributes, if any, and opens a
 * handle to it (OBJ_KERNEL_HANDLE, OBJ_INHERIT as given).
 * Returns STATUS_SUCCESS; or STATUS_OBJECT_NAME_EXISTS with a handle to the
 * object already under that name (OBJ_OPENIF, same type); or a failure
 * (STATUS_OBJECT_NAME_COLLISION, STATUS_OBJECT_TYPE_MISMATCH, the name and
 * attribute errors of ObpOpenObjectByName) with *Handle untouched. Unless it
 * returns STATUS_SUCCESS, the new object has been dereferenced (deleted).
 */
NTSTATUS ObpInsertObject(PVOID Object, POBJECT_ATTRIBUTES ObjectAttributes,
                         ACCESS_MASK DesiredAccess, PHANDLE Handle);

/*
 * Opens a handle to the object named by ObjectAttributes, which must be of
 * Type. Statuses, as Windows: STATUS_INVALID_PARAMETER (bad Length or
 * attribute bits), STATUS_OBJECT_NAME_INVALID (odd name length, empty path
 * component, trailing '\'), STATUS_OBJECT_PATH_SYNTAX_BAD (no name, or no
 * leading '\' without RootDirectory), STATUS_OBJECT_PATH_NOT_FOUND (a
 * directory on the path is missing), STATUS_OBJECT_NAME_NOT_FOUND,
 * STATUS_OBJECT_TYPE_MISMATCH; a RootDirectory handle (kmhost has no
 * directory objects to hand out) gives STATUS_INVALID_HANDLE or
 * STATUS_OBJECT_TYPE_MISMATCH.
 */
NTSTATUS ObpOpenObjectByName(POBJECT_ATTRIBUTES ObjectAttributes, POBJECT_TYPE Type,
                             ACCESS_MASK DesiredAccess, PHANDLE Handle);

/* Called by ObCloseHandle when an object's handle count reached zero: a
   named object that is not permanent leaves the namespace. */
void ObpDeleteNameCheck(PVOID Object);

#endif
